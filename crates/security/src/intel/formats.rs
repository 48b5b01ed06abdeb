//! Feed formats: plain lists, abuse.ch's CSV exports (Feodo Tracker,
//! URLhaus, ThreatFox), MISP feed events and STIX 2.1 bundles, each read
//! into a [`SetBuilder`]. Feeds are untrusted input: a line or object that
//! is not an indicator is skipped and counted, never fatal; only a document
//! that is not the format at all (JSON that does not parse, or a text where
//! not one line is an indicator, like an HTML error page) fails the load,
//! so the previous set stays.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::Value as Json;

use super::clock::{parse_epoch_seconds, parse_time};
use super::set::{parse_ip, Indicator, Kind, MetaInput, SetBuilder, SkipReason};

/// A feed format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Sniffed from the content (see [`sniff`]).
    Auto,
    /// One indicator per line, its kind detected; `#` comments.
    Plain,
    /// abuse.ch Feodo Tracker's IP blocklist CSV.
    Feodo,
    /// abuse.ch URLhaus' CSV dump.
    Urlhaus,
    /// abuse.ch ThreatFox' CSV export.
    Threatfox,
    /// A MISP feed event (`{"Event": …}`), or a list of them.
    Misp,
    /// A STIX 2.1 bundle.
    Stix,
}

impl Format {
    /// The names `format` accepts.
    pub const NAMES: &'static [&'static str] = &[
        "auto",
        "plain",
        "feodo",
        "urlhaus",
        "threatfox",
        "misp",
        "stix",
    ];

    /// The format a config name stands for (any case).
    pub fn from_name(name: &str) -> Option<Format> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "auto" => Format::Auto,
            "plain" => Format::Plain,
            "feodo" => Format::Feodo,
            "urlhaus" => Format::Urlhaus,
            "threatfox" => Format::Threatfox,
            "misp" => Format::Misp,
            "stix" => Format::Stix,
            _ => return None,
        })
    }

    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Plain => "plain",
            Format::Feodo => "feodo",
            Format::Urlhaus => "urlhaus",
            Format::Threatfox => "threatfox",
            Format::Misp => "misp",
            Format::Stix => "stix",
        }
    }
}

/// Why a whole document was refused.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// A JSON format whose document does not parse.
    #[error("not valid json: {0}")]
    Json(#[from] serde_json::Error),
    /// JSON of the wrong shape.
    #[error("not a {format} document: {reason}")]
    Shape {
        /// The format expected.
        format: &'static str,
        /// What is missing.
        reason: &'static str,
    },
    /// Entries, but not one of them an indicator.
    #[error("none of {entries} entries is an indicator: not a {format} feed")]
    NoIndicators {
        /// The format expected.
        format: &'static str,
        /// Entries read.
        entries: u64,
    },
}

const FEODO: &str = "abuse.ch Feodo Tracker";
const URLHAUS: &str = "abuse.ch URLhaus";
const THREATFOX: &str = "abuse.ch ThreatFox";

/// Reads `body` in `format` (sniffing it for [`Format::Auto`]) into
/// `builder`. `name` is the provider of indicators whose feed names none.
/// Returns the format read.
pub fn parse(
    format: Format,
    body: &[u8],
    name: &str,
    builder: &mut SetBuilder,
) -> Result<Format, FormatError> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim_start_matches('\u{feff}');
    let format = match format {
        Format::Auto => sniff(text),
        f => f,
    };
    if matches!(
        format,
        Format::Plain | Format::Feodo | Format::Urlhaus | Format::Threatfox
    ) {
        builder.expect(text.bytes().filter(|b| *b == b'\n').count());
    }
    let len_before = builder.len();
    let malformed_before = builder.skipped().get(SkipReason::Malformed);
    let entries = match format {
        Format::Auto | Format::Plain => plain(text, name, builder),
        Format::Feodo => feodo(text, builder),
        Format::Urlhaus => urlhaus(text, builder),
        Format::Threatfox => threatfox(text, builder),
        Format::Misp => misp(&serde_json::from_str(text)?, name, builder)?,
        Format::Stix => stix(&serde_json::from_str(text)?, name, builder)?,
    };
    let malformed = builder.skipped().get(SkipReason::Malformed) - malformed_before;
    if builder.len() == len_before && malformed > 0 && malformed == entries {
        return Err(FormatError::NoIndicators {
            format: format.name(),
            entries,
        });
    }
    Ok(format)
}

/// The format of a document: JSON with an `Event` is MISP, other JSON
/// STIX; a text whose header or banner names an abuse.ch export is that
/// export; anything else a plain list.
pub fn sniff(text: &str) -> Format {
    let t = text.trim_start();
    if t.starts_with('{') || t.starts_with('[') {
        // Keys come in any order, so look for MISP's in the first objects
        // rather than at a position.
        let head = t.get(..t.len().min(4096)).unwrap_or(t);
        let head = match t.char_indices().nth(4096) {
            Some((i, _)) => &t[..i],
            None => head,
        };
        return if head.contains("\"Event\"") || head.contains("\"response\"") {
            Format::Misp
        } else {
            Format::Stix
        };
    }
    let mut banner = None;
    for line in t.lines().take(200) {
        let comment = line.trim_start().starts_with('#');
        let l = line.trim_start_matches(|c: char| c == '#' || c.is_whitespace());
        if l.contains("dst_ip") && l.contains("c2_status") {
            return Format::Feodo;
        }
        if l.contains("urlhaus_link") {
            return Format::Urlhaus;
        }
        if l.contains("ioc_value") && l.contains("ioc_type") {
            return Format::Threatfox;
        }
        if !comment && !l.is_empty() {
            break;
        }
        let lower = l.to_ascii_lowercase();
        if banner.is_none() {
            if lower.contains("feodo tracker") {
                banner = Some(Format::Feodo);
            } else if lower.contains("urlhaus") {
                banner = Some(Format::Urlhaus);
            } else if lower.contains("threatfox") {
                banner = Some(Format::Threatfox);
            }
        }
    }
    banner.unwrap_or(Format::Plain)
}

/// Addresses hosts files map blocked names to.
const SINKHOLES: [&str; 4] = ["0.0.0.0", "127.0.0.1", "::", "::1"];

fn plain(text: &str, name: &str, b: &mut SetBuilder) -> u64 {
    let meta = MetaInput {
        provider: name,
        ..MetaInput::default()
    };
    let mut entries = 0;
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with("//") || l.starts_with(';') {
            continue;
        }
        entries += 1;
        let mut words = l.split_whitespace();
        let Some(mut word) = words.next() else {
            continue;
        };
        // A hosts file (`0.0.0.0 evil.com`) lists the name, not the sinkhole.
        if SINKHOLES.contains(&word) {
            if let Some(next) = words.next().filter(|w| !w.starts_with('#')) {
                word = next;
            }
        }
        // Trailing comments (`1.2.3.0/24 ; SBL123`, `evil.com,phishing`),
        // except inside URLs, where these characters belong.
        let url = word.find(':').is_some_and(|i| word[i..].starts_with("://"));
        if !url {
            word = word.split([',', ';', '#']).next().unwrap_or(word);
        }
        match Indicator::parse(word) {
            Some(i) => {
                b.insert(i, &meta);
            }
            None => b.skip(SkipReason::Malformed),
        }
    }
    entries
}

/// Splits one CSV line (RFC 4180 quoting; abuse.ch's ThreatFox export
/// puts a space after each comma).
fn split_csv<'a>(line: &'a str, out: &mut Vec<Cow<'a, str>>) {
    out.clear();
    let mut rest = line;
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut value: Option<String> = None;
            let mut start = 0;
            let mut end = quoted.len();
            let mut after = "";
            let mut i = 0;
            let bytes = quoted.as_bytes();
            let mut closed = false;
            while i < bytes.len() {
                if bytes[i] == b'"' {
                    if bytes.get(i + 1) == Some(&b'"') {
                        let v = value.get_or_insert_with(String::new);
                        v.push_str(&quoted[start..=i]);
                        start = i + 2;
                        i += 2;
                        continue;
                    }
                    end = i;
                    after = &quoted[i + 1..];
                    closed = true;
                    break;
                }
                i += 1;
            }
            let field = match value {
                Some(mut v) => {
                    v.push_str(&quoted[start..end]);
                    Cow::Owned(v)
                }
                None => Cow::Borrowed(&quoted[start..end]),
            };
            out.push(field);
            if !closed {
                return;
            }
            match after.find(',') {
                Some(i) => rest = &after[i + 1..],
                None => return,
            }
        } else {
            match rest.find(',') {
                Some(i) => {
                    out.push(Cow::Borrowed(rest[..i].trim_end()));
                    rest = &rest[i + 1..];
                }
                None => {
                    out.push(Cow::Borrowed(rest.trim_end()));
                    return;
                }
            }
        }
    }
}

/// Reads the rows of an abuse.ch CSV export, passing `row` the columns in
/// `wanted` order ("None" and empty values as `None`). The header may be a
/// comment (`# id,dateadded,…`) or a plain line, and is matched by column
/// names, so reordered or added columns are read right; without one the
/// documented column order is assumed. Returns the data rows read.
fn csv<const N: usize>(
    text: &str,
    wanted: [&str; N],
    b: &mut SetBuilder,
    mut row: impl FnMut([Option<&str>; N], &mut SetBuilder) -> Result<(), SkipReason>,
) -> u64 {
    let mut index: [Option<usize>; N] = std::array::from_fn(Some);
    let mut fields: Vec<Cow<'_, str>> = Vec::with_capacity(N + 2);
    let mut entries = 0;
    let mut header_seen = false;
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() {
            continue;
        }
        let comment = l.starts_with('#');
        // The header: a line (commented or not) naming at least three of
        // the columns. Looked for until the first data row only.
        if !header_seen && (comment || entries == 0) {
            split_csv(l.trim_start_matches(['#', ' ']), &mut fields);
            let names: Vec<String> = fields
                .iter()
                .map(|f| f.trim().trim_matches('"').to_ascii_lowercase())
                .collect();
            let found = wanted.map(|w| names.iter().position(|n| n == w));
            if found.iter().flatten().count() >= N.min(3) {
                index = found;
                header_seen = true;
                continue;
            }
        }
        if comment {
            continue;
        }
        entries += 1;
        split_csv(l, &mut fields);
        let values: [Option<&str>; N] = index.map(|i| {
            i.and_then(|i| fields.get(i))
                .map(|f| f.trim())
                .filter(|f| !f.is_empty() && *f != "None")
        });
        if let Err(reason) = row(values, b) {
            b.skip(reason);
        }
    }
    entries
}

fn feodo(text: &str, b: &mut SetBuilder) -> u64 {
    let wanted = [
        "first_seen_utc",
        "dst_ip",
        "dst_port",
        "c2_status",
        "last_online",
        "malware",
    ];
    csv(
        text,
        wanted,
        b,
        |[first_seen, ip, port, _, last_online, malware], b| {
            let ip = ip.and_then(parse_ip).ok_or(SkipReason::Malformed)?;
            let meta = MetaInput {
                provider: FEODO,
                description: malware,
                first_seen: first_seen.and_then(parse_time),
                last_seen: last_online.and_then(parse_time),
                port: port.and_then(|p| p.parse().ok()),
                ..MetaInput::default()
            };
            b.insert(Indicator::Ip(ip), &meta);
            Ok(())
        },
    )
}

fn urlhaus(text: &str, b: &mut SetBuilder) -> u64 {
    let wanted = [
        "id",
        "dateadded",
        "url",
        "url_status",
        "last_online",
        "threat",
        "tags",
        "urlhaus_link",
        "reporter",
    ];
    csv(
        text,
        wanted,
        b,
        |[_, added, url, _, last_online, threat, tags, link, _], b| {
            let url = url
                .and_then(Indicator::parse_url)
                .ok_or(SkipReason::Malformed)?;
            // The tags name the malware (`elf,mips,Mozi`); the threat only
            // says what the URL does (`malware_download`).
            let description = match (threat, tags) {
                (Some(t), Some(tags)) => Some(format!("{t} ({tags})")),
                (t, None) => t.map(str::to_string),
                (None, tags) => tags.map(str::to_string),
            };
            let meta = MetaInput {
                provider: URLHAUS,
                description: description.as_deref(),
                reference: link,
                first_seen: added.and_then(parse_time),
                last_seen: last_online.and_then(parse_time),
                ..MetaInput::default()
            };
            b.insert(url, &meta);
            Ok(())
        },
    )
}

fn threatfox(text: &str, b: &mut SetBuilder) -> u64 {
    let wanted = [
        "first_seen_utc",
        "ioc_id",
        "ioc_value",
        "ioc_type",
        "threat_type",
        "fk_malware",
        "malware_alias",
        "malware_printable",
        "last_seen_utc",
        "confidence_level",
        "reference",
        "tags",
        "anonymous",
        "reporter",
    ];
    csv(
        text,
        wanted,
        b,
        |[first_seen, id, value, ty, _, _, _, malware, last_seen, confidence, reference, ..], b| {
            let value = value.ok_or(SkipReason::Malformed)?;
            let (indicator, port) = match ty.unwrap_or_default() {
                "ip:port" => ip_port(value, ':').ok_or(SkipReason::Malformed)?,
                "domain" => (
                    Indicator::parse_domain(value).ok_or(SkipReason::Malformed)?,
                    None,
                ),
                "url" => (
                    Indicator::parse_url(value).ok_or(SkipReason::Malformed)?,
                    None,
                ),
                "md5_hash" => (hash_of(value, Kind::Md5)?, None),
                "sha1_hash" => (hash_of(value, Kind::Sha1)?, None),
                "sha256_hash" => (hash_of(value, Kind::Sha256)?, None),
                _ => return Err(SkipReason::UnsupportedType),
            };
            let link;
            let reference = match (reference, id) {
                (Some(r), _) => Some(r),
                (None, Some(id)) => {
                    link = format!("https://threatfox.abuse.ch/ioc/{id}/");
                    Some(link.as_str())
                }
                (None, None) => None,
            };
            let meta = MetaInput {
                provider: THREATFOX,
                description: malware,
                reference,
                first_seen: first_seen.and_then(parse_time),
                last_seen: last_seen.and_then(parse_time),
                confidence: confidence.and_then(|c| c.parse::<u8>().ok()),
                port,
                ..MetaInput::default()
            };
            b.insert(indicator, &meta);
            Ok(())
        },
    )
}

/// `1.2.3.4:443`, `[2001:db8::1]:443` (separator `:`) or MISP's
/// `1.2.3.4|443` (separator `|`).
fn ip_port(value: &str, sep: char) -> Option<(Indicator, Option<u16>)> {
    if let Some(ip) = parse_ip(value) {
        return Some((Indicator::Ip(ip), None));
    }
    let (ip, port) = value.rsplit_once(sep)?;
    let ind = Indicator::parse_ip_or_net(ip)?;
    Some((ind, port.trim().parse().ok()))
}

fn hash_of(value: &str, kind: Kind) -> Result<Indicator, SkipReason> {
    Indicator::parse_hash(value)
        .filter(|h| h.kind() == kind)
        .ok_or(SkipReason::Malformed)
}

fn json_str<'j>(v: &'j Json, key: &str) -> Option<&'j str> {
    v.get(key)
        .and_then(Json::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn json_array<'j>(v: &'j Json, key: &str) -> &'j [Json] {
    v.get(key)
        .and_then(Json::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// MISP booleans are JSON booleans in feeds, "0"/"1" in some exports.
fn json_flag(v: &Json, key: &str, default: bool) -> bool {
    match v.get(key) {
        Some(Json::Bool(b)) => *b,
        Some(Json::String(s)) => matches!(s.as_str(), "1" | "true" | "True"),
        Some(Json::Number(n)) => n.as_i64() == Some(1),
        _ => default,
    }
}

fn misp(doc: &Json, name: &str, b: &mut SetBuilder) -> Result<u64, FormatError> {
    let shape = |reason| FormatError::Shape {
        format: "misp",
        reason,
    };
    let events: Vec<&Json> = if let Some(e) = doc.get("Event") {
        vec![e]
    } else if let Some(items) = doc
        .get("response")
        .and_then(Json::as_array)
        .or(doc.as_array())
    {
        items.iter().map(|i| i.get("Event").unwrap_or(i)).collect()
    } else {
        return Err(shape("no \"Event\""));
    };
    let mut entries = 0;
    for event in events {
        let info = json_str(event, "info");
        let provider = event
            .get("Orgc")
            .and_then(|o| json_str(o, "name"))
            .unwrap_or(name);
        let date = json_str(event, "date").and_then(parse_time);
        let objects = json_array(event, "Object");
        let attributes = json_array(event, "Attribute")
            .iter()
            .chain(objects.iter().flat_map(|o| json_array(o, "Attribute")));
        for attr in attributes {
            if json_flag(attr, "deleted", false) {
                continue;
            }
            entries += 1;
            if !json_flag(attr, "to_ids", true) {
                b.skip(SkipReason::NotForDetection);
                continue;
            }
            let (Some(ty), Some(value)) = (json_str(attr, "type"), json_str(attr, "value")) else {
                b.skip(SkipReason::Malformed);
                continue;
            };
            let found = match misp_indicators(ty, value) {
                Ok(found) => found,
                Err(reason) => {
                    b.skip(reason);
                    continue;
                }
            };
            let last_seen = json_str(attr, "last_seen")
                .and_then(parse_time)
                .or_else(|| {
                    attr.get("timestamp").and_then(|t| match t {
                        Json::String(s) => parse_epoch_seconds(s),
                        Json::Number(n) => n.as_i64().map(|s| s * 1000),
                        _ => None,
                    })
                });
            let first_seen = json_str(attr, "first_seen").and_then(parse_time).or(date);
            for (indicator, port) in found {
                let meta = MetaInput {
                    provider,
                    description: info,
                    first_seen,
                    last_seen,
                    port,
                    ..MetaInput::default()
                };
                b.insert(indicator, &meta);
            }
        }
    }
    Ok(entries)
}

type Found = Vec<(Indicator, Option<u16>)>;

/// The indicators of one MISP attribute (`domain|ip` holds two).
fn misp_indicators(ty: &str, value: &str) -> Result<Found, SkipReason> {
    let bad = SkipReason::Malformed;
    let one = |i: Option<Indicator>| i.map(|i| vec![(i, None)]).ok_or(bad);
    let second = || value.rsplit_once('|').map(|(_, v)| v).ok_or(bad);
    match ty {
        "ip-src" | "ip-dst" => one(Indicator::parse_ip_or_net(value)),
        "ip-src|port" | "ip-dst|port" => ip_port(value, '|').map(|p| vec![p]).ok_or(bad),
        "domain" | "hostname" => one(Indicator::parse_domain(value)),
        "hostname|port" => {
            let (host, port) = value.split_once('|').ok_or(bad)?;
            let d = Indicator::parse_domain(host).ok_or(bad)?;
            Ok(vec![(d, port.trim().parse().ok())])
        }
        "domain|ip" => {
            let (d, ip) = value.split_once('|').ok_or(bad)?;
            Ok(vec![
                (Indicator::parse_domain(d).ok_or(bad)?, None),
                (Indicator::parse_ip_or_net(ip).ok_or(bad)?, None),
            ])
        }
        "url" => one(Indicator::parse_url(value)),
        "md5" => Ok(vec![(hash_of(value, Kind::Md5)?, None)]),
        "sha1" => Ok(vec![(hash_of(value, Kind::Sha1)?, None)]),
        "sha256" => Ok(vec![(hash_of(value, Kind::Sha256)?, None)]),
        "filename|md5" | "malware-sample" => Ok(vec![(hash_of(second()?, Kind::Md5)?, None)]),
        "filename|sha1" => Ok(vec![(hash_of(second()?, Kind::Sha1)?, None)]),
        "filename|sha256" => Ok(vec![(hash_of(second()?, Kind::Sha256)?, None)]),
        _ => Err(SkipReason::UnsupportedType),
    }
}

fn stix(doc: &Json, name: &str, b: &mut SetBuilder) -> Result<u64, FormatError> {
    let objects: &[Json] = if let Some(objects) = doc.get("objects").and_then(Json::as_array) {
        objects
    } else if let Some(items) = doc.as_array() {
        items
    } else if json_str(doc, "type") == Some("indicator") {
        std::slice::from_ref(doc)
    } else {
        return Err(FormatError::Shape {
            format: "stix",
            reason: "no \"objects\"",
        });
    };
    let identities: HashMap<&str, &str> = objects
        .iter()
        .filter(|o| json_str(o, "type") == Some("identity"))
        .filter_map(|o| Some((json_str(o, "id")?, json_str(o, "name")?)))
        .collect();
    let mut entries = 0;
    for obj in objects
        .iter()
        .filter(|o| json_str(o, "type") == Some("indicator"))
    {
        entries += 1;
        if json_flag(obj, "revoked", false) {
            b.skip(SkipReason::Revoked);
            continue;
        }
        if json_str(obj, "pattern_type").is_some_and(|t| t != "stix") {
            b.skip(SkipReason::UnsupportedPattern);
            continue;
        }
        let Some(pattern) = json_str(obj, "pattern") else {
            b.skip(SkipReason::Malformed);
            continue;
        };
        let found = match stix_pattern(pattern) {
            Ok(found) => found,
            Err(reason) => {
                tracing::debug!(pattern, reason = reason.label(), "stix indicator skipped");
                b.skip(reason);
                continue;
            }
        };
        let reference = json_array(obj, "external_references")
            .iter()
            .find_map(|r| json_str(r, "url"));
        let provider = json_str(obj, "created_by_ref")
            .and_then(|id| identities.get(id).copied())
            .unwrap_or(name);
        let meta = MetaInput {
            provider,
            description: json_str(obj, "name").or_else(|| json_str(obj, "description")),
            reference,
            first_seen: json_str(obj, "valid_from").and_then(parse_time),
            valid_until: json_str(obj, "valid_until").and_then(parse_time),
            confidence: obj
                .get("confidence")
                .and_then(Json::as_u64)
                .and_then(|c| u8::try_from(c.min(100)).ok()),
            ..MetaInput::default()
        };
        for indicator in found {
            b.insert(indicator, &meta);
        }
    }
    Ok(entries)
}

#[derive(Debug, PartialEq)]
enum Token {
    Open,
    Close,
    Or,
    Eq,
    Path(String),
    Str(String),
    /// Anything else: AND, other operators, qualifiers, typed literals.
    Other,
}

fn tokens(pattern: &str) -> Result<Vec<Token>, SkipReason> {
    let mut out = Vec::new();
    let mut chars = pattern.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '[' | '(' => out.push(Token::Open),
            ']' | ')' => out.push(Token::Close),
            '=' => out.push(Token::Eq),
            '\'' => {
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some((_, '\\')) => match chars.next() {
                            Some((_, c)) => s.push(c),
                            None => return Err(SkipReason::Malformed),
                        },
                        Some((_, '\'')) => break,
                        Some((_, c)) => s.push(c),
                        None => return Err(SkipReason::Malformed),
                    }
                }
                out.push(Token::Str(s));
            }
            c if c.is_ascii_alphanumeric() || c == '_' => {
                let mut end = i + c.len_utf8();
                let mut prev = c;
                while let Some(&(j, d)) = chars.peek() {
                    if d.is_ascii_alphanumeric() || matches!(d, '_' | '-' | ':' | '.') {
                        chars.next();
                        end = j + d.len_utf8();
                        prev = d;
                    } else if d == '\'' && prev == '.' {
                        // A quoted path step: `hashes.'SHA-256'`.
                        chars.next();
                        loop {
                            match chars.next() {
                                Some((k, '\'')) => {
                                    end = k + 1;
                                    break;
                                }
                                Some(_) => {}
                                None => return Err(SkipReason::Malformed),
                            }
                        }
                        prev = '\'';
                    } else {
                        break;
                    }
                }
                let word = &pattern[i..end];
                out.push(if word == "OR" {
                    Token::Or
                } else if word.contains(':') {
                    Token::Path(word.to_string())
                } else {
                    Token::Other
                });
            }
            _ => out.push(Token::Other),
        }
    }
    Ok(out)
}

/// The indicators of a STIX pattern made only of equality comparisons
/// joined by OR (within an observation or between observations), on the
/// properties a set holds. Anything else (AND, FOLLOWEDBY, MATCHES, other
/// properties, qualifiers) is [`SkipReason::UnsupportedPattern`]: the set
/// matches single values, and loading one side of an AND would raise
/// alerts the pattern does not describe.
fn stix_pattern(pattern: &str) -> Result<Vec<Indicator>, SkipReason> {
    let unsupported = SkipReason::UnsupportedPattern;
    let toks = tokens(pattern).map_err(|_| unsupported)?;
    let mut depth = 0usize;
    let mut out = Vec::new();
    let mut expect_comparison = true;
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Token::Open => depth += 1,
            Token::Close => depth = depth.checked_sub(1).ok_or(unsupported)?,
            Token::Or if !expect_comparison => expect_comparison = true,
            Token::Path(path) if expect_comparison && depth > 0 => {
                let (Some(Token::Eq), Some(Token::Str(value))) = (toks.get(i + 1), toks.get(i + 2))
                else {
                    return Err(unsupported);
                };
                out.push(stix_value(path, value).ok_or(unsupported)?);
                expect_comparison = false;
                i += 2;
            }
            _ => return Err(unsupported),
        }
        i += 1;
    }
    if depth != 0 || expect_comparison || out.is_empty() {
        return Err(unsupported);
    }
    Ok(out)
}

fn stix_value(path: &str, value: &str) -> Option<Indicator> {
    let (object, property) = path.split_once(':')?;
    match (object, property) {
        ("ipv4-addr", "value") => {
            Indicator::parse_ip_or_net(value).filter(|i| i.kind() == Kind::Ipv4)
        }
        ("ipv6-addr", "value") => {
            Indicator::parse_ip_or_net(value).filter(|i| i.kind() == Kind::Ipv6)
        }
        ("domain-name", "value") => Indicator::parse_domain(value),
        ("url", "value") => Indicator::parse_url(value),
        ("file", hashes) => {
            let algo = hashes.strip_prefix("hashes.")?;
            let algo = algo
                .trim_matches('\'')
                .to_ascii_uppercase()
                .replace('-', "");
            let kind = match algo.as_str() {
                "MD5" => Kind::Md5,
                "SHA1" => Kind::Sha1,
                "SHA256" => Kind::Sha256,
                _ => return None,
            };
            Indicator::parse_hash(value).filter(|h| h.kind() == kind)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines_split_with_quotes_and_spaces() {
        let mut f = Vec::new();
        split_csv(r#""a", "b,c", "d""e", f,,"#, &mut f);
        assert_eq!(f, ["a", "b,c", "d\"e", "f", "", ""]);
        split_csv("x", &mut f);
        assert_eq!(f, ["x"]);
        split_csv(r#""unterminated"#, &mut f);
        assert_eq!(f, ["unterminated"]);
    }

    #[test]
    fn stix_patterns_load_only_equalities() {
        let ok = |p: &str| {
            stix_pattern(p)
                .unwrap()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(ok("[ipv4-addr:value = '198.51.100.7']"), ["198.51.100.7"]);
        assert_eq!(
            ok("[ipv4-addr:value = '198.51.100.0/24']"),
            ["198.51.100.0/24"]
        );
        assert_eq!(
            ok("[domain-name:value = 'evil.example' OR domain-name:value = 'bad.example']"),
            ["evil.example", "bad.example"]
        );
        assert_eq!(
            ok("[url:value = 'http://x.example/a'] OR [ipv6-addr:value = '2001:db8::1']"),
            ["http://x.example/a", "2001:db8::1"]
        );
        assert_eq!(
            ok("[file:hashes.'SHA-256' = 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855']"),
            ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]
        );
        assert_eq!(
            ok("[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']"),
            ["d41d8cd98f00b204e9800998ecf8427e"]
        );
        assert_eq!(
            tokens(r"[url:value = 'http://x.example/?q=\'a\'\\']").unwrap()[3],
            Token::Str(r"http://x.example/?q='a'\".to_string())
        );
    }

    #[test]
    fn stix_patterns_other_than_equalities_are_skipped() {
        for p in [
            "[ipv4-addr:value = '1.2.3.4' AND ipv4-addr:value = '5.6.7.8']",
            "[ipv4-addr:value != '1.2.3.4']",
            "[url:value MATCHES '^http']",
            "[file:name = 'evil.exe']",
            "[email-addr:value = 'a@b.example']",
            "[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [ipv4-addr:value = '5.6.7.8']",
            "[ipv4-addr:value = '1.2.3.4'] WITHIN 10 SECONDS",
            "[network-traffic:dst_ref.value = '1.2.3.4']",
            "[ipv4-addr:value = '1.2.3.4'",
            "ipv4-addr:value = '1.2.3.4'",
            "[ipv4-addr:value = '2001:db8::1']",
            "[ipv4-addr:value = 'not an address']",
            "[]",
            "",
        ] {
            assert_eq!(stix_pattern(p), Err(SkipReason::UnsupportedPattern), "{p}");
        }
    }

    #[test]
    fn sniffing() {
        assert_eq!(sniff("{\"Event\": {}}"), Format::Misp);
        assert_eq!(sniff("[{\"Event\": {}}]"), Format::Misp);
        assert_eq!(
            sniff("{\"type\": \"bundle\", \"objects\": []}"),
            Format::Stix
        );
        assert_eq!(
            sniff("# abuse.ch Feodo Tracker Botnet C2 IP Blocklist (CSV)\n\"2021\",\"1.2.3.4\"\n"),
            Format::Feodo
        );
        assert_eq!(
            sniff("# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n"),
            Format::Urlhaus
        );
        assert_eq!(sniff("# comment\n1.2.3.4\n"), Format::Plain);
    }
}
