//! ArcSight Common Event Format:
//! `CEF:Version|Device Vendor|Device Product|Device Version|Device Event Class ID|Name|Severity|Extension`.
//!
//! Header fields escape `|` and `\` with a backslash. The extension is
//! `key=value` pairs separated by spaces; values may contain spaces and
//! escape `=`, `\`, newlines (`\n`, `\r`).

use std::borrow::Cow;

use super::{own, ParseError};

/// The header and extension of a CEF event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cef<'a> {
    /// The CEF version (0 or 1).
    pub version: u32,
    /// Device Vendor.
    pub device_vendor: Cow<'a, str>,
    /// Device Product.
    pub device_product: Cow<'a, str>,
    /// Device Version.
    pub device_version: Cow<'a, str>,
    /// Device Event Class ID (the signature id).
    pub device_event_class_id: Cow<'a, str>,
    /// Name.
    pub name: Cow<'a, str>,
    /// Severity: 0-10, or Unknown/Low/Medium/High/Very-High.
    pub severity: Cow<'a, str>,
    /// Extension pairs, in order.
    pub extensions: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl Cef<'_> {
    /// Copies the borrowed fields.
    pub fn into_owned(self) -> Cef<'static> {
        Cef {
            version: self.version,
            device_vendor: own(self.device_vendor),
            device_product: own(self.device_product),
            device_version: own(self.device_version),
            device_event_class_id: own(self.device_event_class_id),
            name: own(self.name),
            severity: own(self.severity),
            extensions: self
                .extensions
                .into_iter()
                .map(|(k, v)| (own(k), own(v)))
                .collect(),
        }
    }
}

/// Parses a CEF event starting with `CEF:`.
pub fn parse(s: &str) -> Result<Cef<'_>, ParseError> {
    let err = ParseError::InvalidCef;
    let body = s.strip_prefix("CEF:").ok_or(err("expected 'CEF:'"))?;
    let mut fields: [&str; 7] = [""; 7];
    let mut rest = body;
    for field in &mut fields {
        let end = unescaped_pipe(rest).ok_or(err("fewer than 7 header fields"))?;
        *field = &rest[..end];
        rest = &rest[end + 1..];
    }
    let [version, vendor, product, dversion, class_id, name, severity] = fields;
    let version = version
        .trim()
        .parse()
        .map_err(|_| err("version is not a number"))?;
    let header = unescape_header;
    Ok(Cef {
        version,
        device_vendor: header(vendor),
        device_product: header(product),
        device_version: header(dversion),
        device_event_class_id: header(class_id),
        name: header(name),
        severity: header(severity),
        extensions: parse_extension(rest),
    })
}

fn unescaped_pipe(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 2,
            b'|' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

fn unescape_header(s: &str) -> Cow<'_, str> {
    super::unescape(s, b"|\\")
}

/// Undoes extension escapes: `\=`, `\\`, `\n`, `\r` (and `\|`, which some
/// senders add though the spec does not require it).
fn unescape_value(s: &str) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(c @ ('=' | '\\' | '|')) => out.push(c),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'[' | b']')
}

/// Splits `k1=v1 k2=value with spaces k3=v3`: a key is the word right
/// before an unescaped `=`, and a value runs up to the space before the next
/// key. An `=` inside a value whose word is not a valid key (`url=http://x/?a=b`)
/// stays in the value.
pub(crate) fn parse_extension(ext: &str) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    let bytes = ext.as_bytes();
    // (key start, '=' position)
    let mut keys: Vec<(usize, usize)> = Vec::new();
    // Start of the current word; tracked while scanning so that a long
    // value without spaces stays linear to split.
    let mut word_start = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => {
                i += 2;
                continue;
            }
            b' ' => word_start = i + 1,
            b'=' => {
                let start = word_start;
                let key = &bytes[start..i];
                let after_previous = keys.last().is_none_or(|&(_, eq)| start > eq);
                if !key.is_empty() && key.iter().all(|&c| is_key_byte(c)) && after_previous {
                    keys.push((start, i));
                }
            }
            _ => {}
        }
        i += 1;
    }
    let mut out = Vec::with_capacity(keys.len());
    for (n, &(start, eq)) in keys.iter().enumerate() {
        let end = keys.get(n + 1).map_or(ext.len(), |&(next, _)| next);
        // All split points are ASCII, so these are char boundaries.
        let (Some(key), Some(value)) = (ext.get(start..eq), ext.get(eq + 1..end)) else {
            continue;
        };
        let value = value.trim_end_matches([' ', '\t', '\r', '\n']);
        out.push((Cow::Borrowed(key), unescape_value(value)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_example() {
        let c = parse(r"CEF:0|security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232").unwrap();
        assert_eq!(c.version, 0);
        assert_eq!(c.device_vendor, "security");
        assert_eq!(c.device_event_class_id, "100");
        assert_eq!(c.name, "worm successfully stopped");
        assert_eq!(c.severity, "10");
        assert_eq!(c.extensions.len(), 3);
        assert_eq!(
            c.extensions[2],
            (Cow::Borrowed("spt"), Cow::Borrowed("1232"))
        );
    }

    #[test]
    fn escapes() {
        let c = parse(r"CEF:0|security|threat\|manager|1.0|100|detected a \\ in packet|10|act=blocked a \= fileId=x msg=line1\nline2 cs1=a\\b").unwrap();
        assert_eq!(c.device_product, "threat|manager");
        assert_eq!(c.name, r"detected a \ in packet");
        let ext: Vec<(&str, &str)> = c
            .extensions
            .iter()
            .map(|(k, v)| (k.as_ref(), v.as_ref()))
            .collect();
        assert_eq!(
            ext,
            vec![
                ("act", "blocked a ="),
                ("fileId", "x"),
                ("msg", "line1\nline2"),
                ("cs1", r"a\b")
            ]
        );
    }

    #[test]
    fn values_with_spaces_and_urls() {
        let ext = parse_extension("msg=Hello big world request=http://x/?a=b&c=d suser=bob ");
        let ext: Vec<(&str, &str)> = ext.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
        assert_eq!(
            ext,
            vec![
                ("msg", "Hello big world"),
                ("request", "http://x/?a=b&c=d"),
                ("suser", "bob")
            ]
        );
    }

    #[test]
    fn long_value_of_equal_signs_is_split_in_linear_time() {
        let ext = format!("k={}", "=".repeat(200_000));
        assert_eq!(parse_extension(&ext).len(), 1);
        let ext = "a=b ".repeat(50_000);
        assert_eq!(parse_extension(&ext).len(), 50_000);
    }

    #[test]
    fn short_header_is_an_error() {
        assert_eq!(
            parse("CEF:0|a|b|c"),
            Err(ParseError::InvalidCef("fewer than 7 header fields"))
        );
        assert!(parse("CEF:x|a|b|c|d|e|f|").is_err());
    }
}
