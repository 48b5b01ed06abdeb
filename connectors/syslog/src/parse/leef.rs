//! IBM QRadar Log Event Extended Format:
//! `LEEF:1.0|Vendor|Product|Version|EventID|key=value<TAB>key=value…` and
//! `LEEF:2.0|Vendor|Product|Version|EventID|DelimiterCharacter|key=value^…`,
//! where the 2.0 delimiter is a character or its hex code (`x5E`, `0x5E`).

use std::borrow::Cow;

use super::{own, ParseError};

/// The header and attributes of a LEEF event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leef<'a> {
    /// `1.0` or `2.0`.
    pub version: Cow<'a, str>,
    /// Vendor.
    pub vendor: Cow<'a, str>,
    /// Product.
    pub product: Cow<'a, str>,
    /// Product version.
    pub product_version: Cow<'a, str>,
    /// EventID.
    pub event_id: Cow<'a, str>,
    /// The attribute delimiter (tab unless LEEF 2.0 names another).
    pub delimiter: char,
    /// Attributes, in order.
    pub attributes: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl Leef<'_> {
    /// Copies the borrowed fields.
    pub fn into_owned(self) -> Leef<'static> {
        Leef {
            version: own(self.version),
            vendor: own(self.vendor),
            product: own(self.product),
            product_version: own(self.product_version),
            event_id: own(self.event_id),
            delimiter: self.delimiter,
            attributes: self
                .attributes
                .into_iter()
                .map(|(k, v)| (own(k), own(v)))
                .collect(),
        }
    }
}

/// Parses a LEEF event starting with `LEEF:`.
pub fn parse(s: &str) -> Result<Leef<'_>, ParseError> {
    let err = ParseError::InvalidLeef;
    let body = s.strip_prefix("LEEF:").ok_or(err("expected 'LEEF:'"))?;
    let mut parts = body.splitn(6, '|');
    let mut next = || parts.next().ok_or(err("fewer than 5 header fields"));
    let version = next()?.trim();
    let vendor = next()?;
    let product = next()?;
    let product_version = next()?;
    let event_id = next()?;
    let mut rest = parts.next().unwrap_or("");
    if version.is_empty() {
        return Err(err("empty version"));
    }
    let mut delimiter = '\t';
    if version.starts_with('2') {
        if let Some((field, after)) = rest.split_once('|') {
            if let Some(d) = parse_delimiter(field) {
                delimiter = d;
                rest = after;
            }
        }
    }
    let attributes = if !rest.contains(delimiter) && rest.contains(' ') && rest.contains('=') {
        // Some senders separate LEEF attributes with spaces, like CEF.
        super::cef::parse_extension(rest)
    } else {
        rest.split(delimiter)
            .filter_map(|pair| pair.split_once('='))
            .filter(|(k, _)| !k.is_empty())
            .map(|(k, v)| (Cow::Borrowed(k), Cow::Borrowed(v)))
            .collect()
    };
    Ok(Leef {
        version: Cow::Borrowed(version),
        vendor: Cow::Borrowed(vendor),
        product: Cow::Borrowed(product),
        product_version: Cow::Borrowed(product_version),
        event_id: Cow::Borrowed(event_id),
        delimiter,
        attributes,
    })
}

/// A LEEF 2.0 delimiter field: one character, or `xHH`/`0xHH`; empty
/// means tab.
fn parse_delimiter(field: &str) -> Option<char> {
    let mut chars = field.chars();
    match (chars.next(), chars.next()) {
        (None, _) => return Some('\t'),
        (Some(c), None) => return Some(c),
        _ => {}
    }
    let hex = field
        .strip_prefix("0x")
        .or_else(|| field.strip_prefix("x"))
        .or_else(|| field.strip_prefix("0X"))
        .or_else(|| field.strip_prefix("X"))?;
    if hex.is_empty() || hex.len() > 4 {
        return None;
    }
    u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs<'a>(l: &'a Leef<'_>) -> Vec<(&'a str, &'a str)> {
        l.attributes
            .iter()
            .map(|(k, v)| (k.as_ref(), v.as_ref()))
            .collect()
    }

    #[test]
    fn leef_1() {
        let l = parse("LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=192.0.2.0\tdst=172.50.123.1\tsev=5\tcat=anomaly\tmsg=this is a message").unwrap();
        assert_eq!(l.vendor, "Microsoft");
        assert_eq!(l.product_version, "4.0 SP1");
        assert_eq!(l.event_id, "15345");
        assert_eq!(attrs(&l)[4], ("msg", "this is a message"));
    }

    #[test]
    fn leef_2_with_caret_and_hex_delimiters() {
        let l = parse("LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5")
            .unwrap();
        assert_eq!(l.delimiter, '^');
        assert_eq!(
            attrs(&l),
            vec![("src", "10.0.1.8"), ("dst", "10.0.0.5"), ("sev", "5")]
        );
        let l =
            parse("LEEF:2.0|Lancope|StealthWatch|1.0|41|x5E|src=10.0.1.8^dst=10.0.0.5").unwrap();
        assert_eq!(l.delimiter, '^');
        assert_eq!(attrs(&l).len(), 2);
    }

    #[test]
    fn short_header_is_an_error() {
        assert!(parse("LEEF:1.0|a|b").is_err());
        assert!(parse("LEEF:|a|b|c|d|").is_err());
    }
}
