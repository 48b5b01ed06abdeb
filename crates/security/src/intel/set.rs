//! The indicator set: every indicator of one source, keyed for lookups
//! that hash (or walk a handful of prefix lengths), never scan.
//!
//! Memory is what limits a set: a feed of a million IPv4 addresses must fit
//! in well under 200 bytes per indicator. So keys are stored binary (an
//! IPv4 address is a `u32`, a SHA-256 32 bytes), each key maps to a 4-byte
//! index into a table of [`Meta`]s, metas are de-duplicated (a plain list
//! shares one), and their strings (feed name, malware family, reference)
//! are interned.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use super::clock::Now;

type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// No string: an interned-string index meaning "absent".
const NO_STR: u32 = u32::MAX;
/// No expiry.
pub(crate) const NEVER: i64 = i64::MAX;
/// No first-seen time.
const UNKNOWN_TIME: i64 = i64::MIN;
/// No confidence.
const NO_CONFIDENCE: u8 = u8::MAX;
/// `Meta::flags`: the expiry counts from when this worker first loaded the
/// indicator (the feed gave no time), so a reload must keep it, not restart it.
const EXPIRY_FROM_LOAD: u8 = 1;

/// What an indicator is, as hit counters label it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// An IPv4 address or network.
    Ipv4,
    /// An IPv6 address or network.
    Ipv6,
    /// A domain name (matching its subdomains too).
    Domain,
    /// A URL.
    Url,
    /// An MD5 file hash.
    Md5,
    /// A SHA-1 file hash.
    Sha1,
    /// A SHA-256 file hash.
    Sha256,
}

impl Kind {
    /// Every kind, in counter order.
    pub const ALL: [Kind; 7] = [
        Kind::Ipv4,
        Kind::Ipv6,
        Kind::Domain,
        Kind::Url,
        Kind::Md5,
        Kind::Sha1,
        Kind::Sha256,
    ];

    /// The counter label.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Ipv4 => "ipv4",
            Kind::Ipv6 => "ipv6",
            Kind::Domain => "domain",
            Kind::Url => "url",
            Kind::Md5 => "md5",
            Kind::Sha1 => "sha1",
            Kind::Sha256 => "sha256",
        }
    }

    /// The ECS / STIX cyber-observable type (`threat.indicator.type`).
    pub fn ecs_type(self) -> &'static str {
        match self {
            Kind::Ipv4 => "ipv4-addr",
            Kind::Ipv6 => "ipv6-addr",
            Kind::Domain => "domain-name",
            Kind::Url => "url",
            Kind::Md5 | Kind::Sha1 | Kind::Sha256 => "file",
        }
    }
}

/// Field groups a set has indicators for (a bit mask), so a record's hash
/// fields are not even read when no source has a hash.
pub(crate) const GROUP_IP: u8 = 1;
pub(crate) const GROUP_DOMAIN: u8 = 2;
pub(crate) const GROUP_URL: u8 = 4;
pub(crate) const GROUP_HASH: u8 = 8;

/// One indicator, normalised: networks hold their network address, names
/// are lowercase, URLs normalised by [`normalize_url`], hashes binary.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Indicator {
    /// One address (IPv4-mapped IPv6 addresses are IPv4).
    Ip(IpAddr),
    /// A network: its address with the host bits clear, and the prefix
    /// length (shorter than the full address).
    Net(IpAddr, u8),
    /// A domain name.
    Domain(Box<str>),
    /// A URL.
    Url(Box<str>),
    /// An MD5 hash.
    Md5([u8; 16]),
    /// A SHA-1 hash.
    Sha1([u8; 20]),
    /// A SHA-256 hash.
    Sha256([u8; 32]),
}

impl Indicator {
    /// Detects the kind of `text`: an IP address, a CIDR network, a URL
    /// (`scheme://…`), an MD5/SHA-1/SHA-256 hex hash, or a domain name.
    /// Defanged forms (`hxxp://evil[.]com`) are accepted.
    pub fn parse(text: &str) -> Option<Indicator> {
        // Most lines of most feeds are IPv4 addresses: try that first.
        if let Some(v4) = parse_ipv4(text.as_bytes()) {
            return Some(Indicator::Ip(IpAddr::V4(v4)));
        }
        let text = refang(text.trim());
        let text = text.as_ref();
        if text.is_empty() {
            return None;
        }
        if text.contains("://") {
            return normalize_url(text).map(|u| Indicator::Url(u.into()));
        }
        if text.contains('/') {
            return parse_net(text);
        }
        if let Some(ip) = parse_ip(text) {
            return Some(Indicator::Ip(ip));
        }
        if let Some(hash) = parse_hash(text) {
            return Some(hash);
        }
        normalize_domain(text)
            .filter(|d| looks_like_domain(d))
            .map(|d| Indicator::Domain(d.into()))
    }

    /// Parses `text` as an address or a network (`1.2.3.0/24`).
    pub fn parse_ip_or_net(text: &str) -> Option<Indicator> {
        let text = refang(text.trim());
        if text.contains('/') {
            parse_net(&text)
        } else {
            parse_ip(&text).map(Indicator::Ip)
        }
    }

    /// Parses `text` as a domain name.
    pub fn parse_domain(text: &str) -> Option<Indicator> {
        normalize_domain(&refang(text.trim())).map(|d| Indicator::Domain(d.into()))
    }

    /// Parses `text` as a URL.
    pub fn parse_url(text: &str) -> Option<Indicator> {
        normalize_url(&refang(text.trim())).map(|u| Indicator::Url(u.into()))
    }

    /// Parses `text` as a hex hash of the length its kind has.
    pub fn parse_hash(text: &str) -> Option<Indicator> {
        parse_hash(text.trim())
    }

    /// The kind.
    pub fn kind(&self) -> Kind {
        match self {
            Indicator::Ip(IpAddr::V4(_)) | Indicator::Net(IpAddr::V4(_), _) => Kind::Ipv4,
            Indicator::Ip(IpAddr::V6(_)) | Indicator::Net(IpAddr::V6(_), _) => Kind::Ipv6,
            Indicator::Domain(_) => Kind::Domain,
            Indicator::Url(_) => Kind::Url,
            Indicator::Md5(_) => Kind::Md5,
            Indicator::Sha1(_) => Kind::Sha1,
            Indicator::Sha256(_) => Kind::Sha256,
        }
    }
}

impl std::fmt::Display for Indicator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Indicator::Ip(ip) => write!(f, "{ip}"),
            Indicator::Net(ip, len) => write!(f, "{ip}/{len}"),
            Indicator::Domain(d) => f.write_str(d),
            Indicator::Url(u) => f.write_str(u),
            Indicator::Md5(h) => write_hex(f, h),
            Indicator::Sha1(h) => write_hex(f, h),
            Indicator::Sha256(h) => write_hex(f, h),
        }
    }
}

fn write_hex(f: &mut std::fmt::Formatter<'_>, bytes: &[u8]) -> std::fmt::Result {
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

/// Undoes the usual defanging of shared indicators (`hxxp`, `[.]`, `(.)`,
/// `[:]`), which feeds use so nobody clicks them.
pub(crate) fn refang(text: &str) -> Cow<'_, str> {
    let defanged = text.contains('[')
        || text.contains("(.)")
        || text.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("hxx"))
        || text.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("fxp"));
    if !defanged {
        return Cow::Borrowed(text);
    }
    let mut s = text
        .replace("[.]", ".")
        .replace("(.)", ".")
        .replace("[dot]", ".")
        .replace("[:]", ":")
        .replace("[://]", "://");
    for (from, to) in [("hxxps", "https"), ("hxxp", "http"), ("fxp", "ftp")] {
        if s.get(..from.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(from))
        {
            s.replace_range(..from.len(), to);
            break;
        }
    }
    Cow::Owned(s)
}

/// An IP address as events and feeds write it: IPv6 may be bracketed or
/// carry a zone (`fe80::1%eth0`), and an IPv4-mapped IPv6 address is the
/// IPv4 address it maps.
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    let first = *text.as_bytes().first()?;
    // Cheap rejection: an address starts with a hex digit, ':' or '['.
    if !(first.is_ascii_hexdigit() || first == b':' || first == b'[') {
        return None;
    }
    if let Some(v4) = parse_ipv4(text.as_bytes()) {
        return Some(IpAddr::V4(v4));
    }
    let text = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    let text = text.split_once('%').map_or(text, |(addr, _zone)| addr);
    let v6 = text.parse::<Ipv6Addr>().ok()?;
    Some(match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    })
}

/// Dotted-quad IPv4 as `Ipv4Addr::from_str` reads it (four decimal
/// octets up to 255, no leading zeros), in a third of its time: every
/// record's addresses go through here.
fn parse_ipv4(b: &[u8]) -> Option<Ipv4Addr> {
    if b.len() < 7 || b.len() > 15 {
        return None;
    }
    let mut octets = [0u8; 4];
    let mut at = 0;
    for (n, octet) in octets.iter_mut().enumerate() {
        let start = at;
        let mut value: u32 = 0;
        while let Some(d) = b.get(at).filter(|d| d.is_ascii_digit()) {
            value = value * 10 + u32::from(d - b'0');
            at += 1;
            if at - start > 3 {
                return None;
            }
        }
        let digits = at - start;
        if digits == 0 || value > 255 || (digits > 1 && b[start] == b'0') {
            return None;
        }
        // Checked above: at most 255.
        *octet = value as u8;
        if n < 3 {
            if b.get(at) != Some(&b'.') {
                return None;
            }
            at += 1;
        }
    }
    (at == b.len()).then(|| Ipv4Addr::from(octets))
}

fn parse_net(text: &str) -> Option<Indicator> {
    let (addr, len) = text.split_once('/')?;
    let ip = parse_ip(addr)?;
    let len: u8 = len.trim().parse().ok()?;
    net(ip, len)
}

/// The indicator for `ip/len`: the address itself for a full-length
/// prefix, else the network with its host bits cleared (feeds do write
/// `10.1.2.3/8` meaning `10.0.0.0/8`).
pub(crate) fn net(ip: IpAddr, len: u8) -> Option<Indicator> {
    match ip {
        IpAddr::V4(v4) => match len {
            32 => Some(Indicator::Ip(ip)),
            0..=31 => Some(Indicator::Net(
                IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask4(len))),
                len,
            )),
            _ => None,
        },
        IpAddr::V6(v6) => match len {
            128 => Some(Indicator::Ip(ip)),
            0..=127 => Some(Indicator::Net(
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask6(len))),
                len,
            )),
            _ => None,
        },
    }
}

fn mask4(len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

fn mask6(len: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
}

fn parse_hash(text: &str) -> Option<Indicator> {
    fn hex<const N: usize>(text: &[u8]) -> Option<[u8; N]> {
        let mut out = [0u8; N];
        for (i, pair) in text.chunks_exact(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            // Both digits are below 16, so the byte cannot overflow.
            out[i] = (hi * 16 + lo) as u8;
        }
        Some(out)
    }
    let b = text.as_bytes();
    match b.len() {
        32 => hex(b).map(Indicator::Md5),
        40 => hex(b).map(Indicator::Sha1),
        64 => hex(b).map(Indicator::Sha256),
        _ => None,
    }
}

/// A domain name as sets key it: lowercase, without the root's trailing
/// dot; `None` if it has characters no host name has. Borrowed when the
/// name already is in that form (the common case for event fields).
pub fn normalize_domain(text: &str) -> Option<Cow<'_, str>> {
    let d = text.trim().trim_end_matches('.');
    if d.is_empty() || d.len() > 253 || d.starts_with('.') || d.contains("..") {
        return None;
    }
    // Underscores occur in real DNS names (`_dmarc`, SRV records); non-ASCII
    // is kept (IDNs written in Unicode), only lowercased.
    let ok = d
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_' || !c.is_ascii());
    if !ok {
        return None;
    }
    if d.bytes().any(|b| b.is_ascii_uppercase()) || !d.is_ascii() {
        Some(Cow::Owned(d.to_lowercase()))
    } else {
        Some(Cow::Borrowed(d))
    }
}

/// Whether an auto-detected word is a domain and not a bare word or a
/// mistyped address: it has a dot and its last label is not all digits.
fn looks_like_domain(d: &str) -> bool {
    match d.rsplit_once('.') {
        Some((_, tld)) => !tld.is_empty() && !tld.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

/// A URL as sets key it: scheme and host lowercase, the scheme's default
/// port dropped, an empty path written `/`, no fragment (RFC 3986 §6.2.2
/// and §6.2.3 normalisations; percent-encoding is left as it is).
pub fn normalize_url(text: &str) -> Option<String> {
    let text = text.trim();
    let (scheme, rest) = text.split_once("://")?;
    let mut chars = scheme.chars();
    if !chars.next()?.is_ascii_alphabetic()
        || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return None;
    }
    let rest = rest.split_once('#').map_or(rest, |(r, _fragment)| r);
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if hostport.is_empty() || hostport.contains(char::is_whitespace) {
        return None;
    }
    // The port is after the last ':' unless that ':' is inside an IPv6 literal.
    let (host, port) = match hostport.rfind(':') {
        Some(i) if !hostport[i..].contains(']') => (&hostport[..i], Some(&hostport[i + 1..])),
        _ => (hostport, None),
    };
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" | "ws" => Some("80"),
        "https" | "wss" => Some("443"),
        "ftp" => Some("21"),
        _ => None,
    };
    let port = port.filter(|p| !p.is_empty() && Some(*p) != default_port);
    let mut out = String::with_capacity(text.len() + 1);
    out.push_str(&scheme);
    out.push_str("://");
    if let Some(u) = userinfo {
        out.push_str(u);
        out.push('@');
    }
    let host = host.trim_end_matches('.');
    if host.bytes().any(|b| b.is_ascii_uppercase()) || !host.is_ascii() {
        out.push_str(&host.to_lowercase());
    } else {
        out.push_str(host);
    }
    if let Some(p) = port {
        out.push(':');
        out.push_str(p);
    }
    if !tail.starts_with('/') {
        out.push('/');
    }
    out.push_str(tail);
    Some(out)
}

/// What a feed says about an indicator, before interning.
#[derive(Debug, Clone, Copy, Default)]
pub struct MetaInput<'a> {
    /// The feed or provider name (`threat.indicator.provider`).
    pub provider: &'a str,
    /// The threat: malware family, threat type or event title.
    pub description: Option<&'a str>,
    /// A link to the indicator's page.
    pub reference: Option<&'a str>,
    /// When the feed first saw it (ms since the epoch).
    pub first_seen: Option<i64>,
    /// When the feed last saw it (ms); `indicator.ttl.ms` counts from here.
    pub last_seen: Option<i64>,
    /// When the feed says it stops being valid (ms).
    pub valid_until: Option<i64>,
    /// Confidence, 0 to 100.
    pub confidence: Option<u8>,
    /// The port the feed pairs with the address (C2 servers).
    pub port: Option<u16>,
}

/// An indicator's metadata, interned: 32 bytes, shared by every indicator
/// with the same values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Meta {
    first_seen: i64,
    expires: i64,
    provider: u32,
    description: u32,
    reference: u32,
    port: u16,
    confidence: u8,
    flags: u8,
}

impl Meta {
    fn live(&self, now: &mut Now<'_>) -> bool {
        self.expires == NEVER || self.expires > now.get()
    }
}

/// A lookup's result: what matched and what the feed said about it.
#[derive(Debug, Clone)]
pub struct Hit<'s> {
    /// The indicator that matched: the network for a CIDR match, the
    /// listed parent for a subdomain.
    pub indicator: Indicator,
    meta: &'s Meta,
    strings: &'s [Arc<str>],
}

impl<'s> Hit<'s> {
    fn string(&self, i: u32) -> Option<&'s str> {
        self.strings.get(i as usize).map(|s| &**s)
    }

    /// The provider (feed name).
    pub fn provider(&self) -> Option<&'s str> {
        self.string(self.meta.provider)
    }

    /// The threat description.
    pub fn description(&self) -> Option<&'s str> {
        self.string(self.meta.description)
    }

    /// The reference link.
    pub fn reference(&self) -> Option<&'s str> {
        self.string(self.meta.reference)
    }

    /// First seen, ms since the epoch.
    pub fn first_seen(&self) -> Option<i64> {
        (self.meta.first_seen != UNKNOWN_TIME).then_some(self.meta.first_seen)
    }

    /// Confidence, 0 to 100.
    pub fn confidence(&self) -> Option<u8> {
        (self.meta.confidence != NO_CONFIDENCE).then_some(self.meta.confidence)
    }

    /// The port the feed gave with the address.
    pub fn port(&self) -> Option<u16> {
        (self.meta.port != 0).then_some(self.meta.port)
    }

    /// When it expires (ms), if it does.
    pub fn expires(&self) -> Option<i64> {
        (self.meta.expires != NEVER).then_some(self.meta.expires)
    }
}

/// The indicators of one source, with their metadata. Immutable once built
/// (a reload builds a new one and swaps it in), so lookups take no lock.
#[derive(Debug, Clone, Default)]
pub struct IndicatorSet {
    v4: Map<u32, u32>,
    /// Per prefix length, longest first: a longest-prefix match tries at
    /// most one hash lookup per distinct length the feeds use (a handful).
    v4_nets: Vec<(u8, Map<u32, u32>)>,
    v6: Map<u128, u32>,
    v6_nets: Vec<(u8, Map<u128, u32>)>,
    domains: Map<Box<str>, u32>,
    urls: Map<Box<str>, u32>,
    md5: Map<[u8; 16], u32>,
    sha1: Map<[u8; 20], u32>,
    sha256: Map<[u8; 32], u32>,
    metas: Vec<Meta>,
    strings: Vec<Arc<str>>,
    groups: u8,
}

impl IndicatorSet {
    /// The number of indicators.
    pub fn len(&self) -> usize {
        self.v4.len()
            + self.v4_nets.iter().map(|(_, m)| m.len()).sum::<usize>()
            + self.v6.len()
            + self.v6_nets.iter().map(|(_, m)| m.len()).sum::<usize>()
            + self.domains.len()
            + self.urls.len()
            + self.md5.len()
            + self.sha1.len()
            + self.sha256.len()
    }

    /// Whether there are no indicators.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The field groups ([`GROUP_IP`]…) this set has indicators for.
    pub(crate) fn groups(&self) -> u8 {
        self.groups
    }

    fn refresh_groups(&mut self) {
        let mut g = 0;
        if !self.v4.is_empty()
            || !self.v6.is_empty()
            || self.v4_nets.iter().any(|(_, m)| !m.is_empty())
            || self.v6_nets.iter().any(|(_, m)| !m.is_empty())
        {
            g |= GROUP_IP;
        }
        if !self.domains.is_empty() {
            g |= GROUP_DOMAIN;
        }
        if !self.urls.is_empty() {
            g |= GROUP_URL;
        }
        if !self.md5.is_empty() || !self.sha1.is_empty() || !self.sha256.is_empty() {
            g |= GROUP_HASH;
        }
        self.groups = g;
    }

    fn hit(&self, indicator: Indicator, meta: u32) -> Option<Hit<'_>> {
        Some(Hit {
            indicator,
            meta: self.metas.get(meta as usize)?,
            strings: &self.strings,
        })
    }

    fn live(&self, meta: u32, now: &mut Now<'_>) -> bool {
        self.metas.get(meta as usize).is_some_and(|m| m.live(now))
    }

    /// The address itself, else the longest listed network holding it.
    /// Expired indicators do not match (a shorter network still may).
    pub fn lookup_ip(&self, ip: IpAddr, now: &mut Now<'_>) -> Option<Hit<'_>> {
        match ip {
            IpAddr::V4(v4) => {
                let a = u32::from(v4);
                if let Some(&m) = self.v4.get(&a) {
                    if self.live(m, now) {
                        return self.hit(Indicator::Ip(ip), m);
                    }
                }
                for (len, nets) in &self.v4_nets {
                    let n = a & mask4(*len);
                    if let Some(&m) = nets.get(&n) {
                        if self.live(m, now) {
                            return self.hit(Indicator::Net(Ipv4Addr::from(n).into(), *len), m);
                        }
                    }
                }
                None
            }
            IpAddr::V6(v6) => {
                let a = u128::from(v6);
                if let Some(&m) = self.v6.get(&a) {
                    if self.live(m, now) {
                        return self.hit(Indicator::Ip(ip), m);
                    }
                }
                for (len, nets) in &self.v6_nets {
                    let n = a & mask6(*len);
                    if let Some(&m) = nets.get(&n) {
                        if self.live(m, now) {
                            return self.hit(Indicator::Net(Ipv6Addr::from(n).into(), *len), m);
                        }
                    }
                }
                None
            }
        }
    }

    /// The domain, else its nearest listed parent (`a.b.evil.com` matches a
    /// listed `evil.com`). `domain` must be normalised
    /// ([`normalize_domain`]). A parent is at least two labels: a listed
    /// `com` matches only `com` itself.
    pub fn lookup_domain(&self, domain: &str, now: &mut Now<'_>) -> Option<Hit<'_>> {
        if self.domains.is_empty() {
            return None;
        }
        let mut candidate = domain;
        loop {
            if let Some(&m) = self.domains.get(candidate) {
                if self.live(m, now) {
                    return self.hit(Indicator::Domain(candidate.into()), m);
                }
            }
            let (_, parent) = candidate.split_once('.')?;
            if !parent.contains('.') {
                return None;
            }
            candidate = parent;
        }
    }

    /// The URL; `url` must be normalised ([`normalize_url`]).
    pub fn lookup_url(&self, url: &str, now: &mut Now<'_>) -> Option<Hit<'_>> {
        let &m = self.urls.get(url)?;
        if !self.live(m, now) {
            return None;
        }
        self.hit(Indicator::Url(url.into()), m)
    }

    /// A hash indicator (an [`Indicator::Md5`], `Sha1` or `Sha256`).
    pub fn lookup_hash(&self, hash: &Indicator, now: &mut Now<'_>) -> Option<Hit<'_>> {
        let m = *match hash {
            Indicator::Md5(h) => self.md5.get(h),
            Indicator::Sha1(h) => self.sha1.get(h),
            Indicator::Sha256(h) => self.sha256.get(h),
            _ => None,
        }?;
        if !self.live(m, now) {
            return None;
        }
        self.hit(hash.clone(), m)
    }

    /// Any indicator, matched the way its kind matches.
    pub fn lookup(&self, indicator: &Indicator, now: &mut Now<'_>) -> Option<Hit<'_>> {
        match indicator {
            Indicator::Ip(ip) => self.lookup_ip(*ip, now),
            Indicator::Net(..) => {
                let m = self.exact(indicator)?;
                self.live(m, now).then(|| self.hit(indicator.clone(), m))?
            }
            Indicator::Domain(d) => self.lookup_domain(d, now),
            Indicator::Url(u) => self.lookup_url(u, now),
            _ => self.lookup_hash(indicator, now),
        }
    }

    /// The meta index of exactly this indicator, expired or not.
    fn exact(&self, indicator: &Indicator) -> Option<u32> {
        match indicator {
            Indicator::Ip(IpAddr::V4(a)) => self.v4.get(&u32::from(*a)).copied(),
            Indicator::Ip(IpAddr::V6(a)) => self.v6.get(&u128::from(*a)).copied(),
            Indicator::Net(IpAddr::V4(a), len) => self
                .v4_nets
                .iter()
                .find(|(l, _)| l == len)
                .and_then(|(_, m)| m.get(&u32::from(*a)).copied()),
            Indicator::Net(IpAddr::V6(a), len) => self
                .v6_nets
                .iter()
                .find(|(l, _)| l == len)
                .and_then(|(_, m)| m.get(&u128::from(*a)).copied()),
            Indicator::Domain(d) => self.domains.get(d).copied(),
            Indicator::Url(u) => self.urls.get(u).copied(),
            Indicator::Md5(h) => self.md5.get(h).copied(),
            Indicator::Sha1(h) => self.sha1.get(h).copied(),
            Indicator::Sha256(h) => self.sha256.get(h).copied(),
        }
    }

    /// Every indicator, for tests and diagnostics (not a lookup path).
    pub fn indicators(&self) -> Vec<Indicator> {
        let mut out: Vec<Indicator> = Vec::with_capacity(self.len());
        out.extend(
            self.v4
                .keys()
                .map(|a| Indicator::Ip(Ipv4Addr::from(*a).into())),
        );
        for (len, m) in &self.v4_nets {
            out.extend(
                m.keys()
                    .map(|a| Indicator::Net(Ipv4Addr::from(*a).into(), *len)),
            );
        }
        out.extend(
            self.v6
                .keys()
                .map(|a| Indicator::Ip(Ipv6Addr::from(*a).into())),
        );
        for (len, m) in &self.v6_nets {
            out.extend(
                m.keys()
                    .map(|a| Indicator::Net(Ipv6Addr::from(*a).into(), *len)),
            );
        }
        out.extend(self.domains.keys().map(|d| Indicator::Domain(d.clone())));
        out.extend(self.urls.keys().map(|u| Indicator::Url(u.clone())));
        out.extend(self.md5.keys().map(|h| Indicator::Md5(*h)));
        out.extend(self.sha1.keys().map(|h| Indicator::Sha1(*h)));
        out.extend(self.sha256.keys().map(|h| Indicator::Sha256(*h)));
        out
    }

    fn retain_live(&mut self, now: i64) {
        let metas = &self.metas;
        let keep = |m: &mut u32| metas.get(*m as usize).is_some_and(|m| m.expires > now);
        self.v4.retain(|_, m| keep(m));
        self.v6.retain(|_, m| keep(m));
        for (_, nets) in &mut self.v4_nets {
            nets.retain(|_, m| keep(m));
        }
        for (_, nets) in &mut self.v6_nets {
            nets.retain(|_, m| keep(m));
        }
        self.v4_nets.retain(|(_, n)| !n.is_empty());
        self.v6_nets.retain(|(_, n)| !n.is_empty());
        self.domains.retain(|_, m| keep(m));
        self.urls.retain(|_, m| keep(m));
        self.md5.retain(|_, m| keep(m));
        self.sha1.retain(|_, m| keep(m));
        self.sha256.retain(|_, m| keep(m));
    }

    fn meta_refs_mut(&mut self) -> impl Iterator<Item = &mut u32> {
        self.v4
            .values_mut()
            .chain(self.v4_nets.iter_mut().flat_map(|(_, m)| m.values_mut()))
            .chain(self.v6.values_mut())
            .chain(self.v6_nets.iter_mut().flat_map(|(_, m)| m.values_mut()))
            .chain(self.domains.values_mut())
            .chain(self.urls.values_mut())
            .chain(self.md5.values_mut())
            .chain(self.sha1.values_mut())
            .chain(self.sha256.values_mut())
    }
}

/// Why an entry of a feed was not loaded (`indicators_skipped_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// A line or value that is not an indicator.
    Malformed,
    /// An indicator type the set does not hold (e-mail, SHA-512, …).
    UnsupportedType,
    /// A STIX pattern other than equalities joined by OR.
    UnsupportedPattern,
    /// A revoked STIX indicator.
    Revoked,
    /// Already expired when loaded.
    Expired,
    /// A MISP attribute not flagged for detection (`to_ids` false).
    NotForDetection,
}

impl SkipReason {
    /// Every reason, in counter order.
    pub const ALL: [SkipReason; 6] = [
        SkipReason::Malformed,
        SkipReason::UnsupportedType,
        SkipReason::UnsupportedPattern,
        SkipReason::Revoked,
        SkipReason::Expired,
        SkipReason::NotForDetection,
    ];

    /// The counter label.
    pub fn label(self) -> &'static str {
        match self {
            SkipReason::Malformed => "malformed",
            SkipReason::UnsupportedType => "unsupported_type",
            SkipReason::UnsupportedPattern => "unsupported_pattern",
            SkipReason::Revoked => "revoked",
            SkipReason::Expired => "expired",
            SkipReason::NotForDetection => "not_to_ids",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Entries skipped in one load, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Skipped([u64; 6]);

impl Skipped {
    /// The count for one reason.
    pub fn get(&self, reason: SkipReason) -> u64 {
        self.0[reason.index()]
    }

    /// Every count.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    pub(crate) fn add(&mut self, reason: SkipReason) {
        self.0[reason.index()] += 1;
    }

    /// The counts added since `earlier`.
    pub(crate) fn since(self, earlier: Skipped) -> Skipped {
        Skipped(std::array::from_fn(|i| {
            self.0[i].saturating_sub(earlier.0[i])
        }))
    }
}

/// Builds an [`IndicatorSet`]: interns metadata, computes expiry, drops
/// what already expired, and counts what it skipped.
#[derive(Debug)]
pub struct SetBuilder {
    set: IndicatorSet,
    string_ids: Map<Arc<str>, u32>,
    ttl_ms: i64,
    now: i64,
    previous: Option<Arc<IndicatorSet>>,
    skipped: Skipped,
    /// Entries the feed is expected to hold (its line count).
    hint: usize,
    /// Consecutive lines of a feed mostly repeat the provider, often the
    /// description and the whole meta: compare before hashing.
    last_meta: Option<(Meta, u32)>,
    last_strings: [Option<(Arc<str>, u32)>; 3],
}

impl SetBuilder {
    /// A builder for a load at `now` (ms). With a TTL, an indicator expires
    /// `ttl_ms` after the feed last (or first) saw it; one the feed gives no
    /// time for counts from when it was first loaded, which `previous` (the
    /// set this load replaces) remembers across reloads.
    pub fn new(ttl_ms: i64, now: i64, previous: Option<Arc<IndicatorSet>>) -> Self {
        SetBuilder {
            set: IndicatorSet::default(),
            string_ids: Map::default(),
            ttl_ms,
            now,
            previous: previous.filter(|_| ttl_ms > 0),
            skipped: Skipped::default(),
            hint: 0,
            last_meta: None,
            last_strings: Default::default(),
        }
    }

    /// Says how many entries the feed holds, roughly, so the table of the
    /// kind it lists is sized once instead of doubled twenty times (each
    /// doubling re-inserts every entry). Tables end trimmed to their size.
    pub fn expect(&mut self, entries: usize) {
        self.hint = entries;
    }

    /// Moves the load time on (a long-lived builder: the Kafka source).
    pub(crate) fn set_now(&mut self, now: i64) {
        self.now = now;
    }

    /// Counts an entry that was not loaded.
    pub fn skip(&mut self, reason: SkipReason) {
        self.skipped.add(reason);
    }

    /// What was skipped so far.
    pub fn skipped(&self) -> Skipped {
        self.skipped
    }

    /// Indicators so far.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// The index of `s` in the string table; `slot` names the field, for
    /// the one-entry cache of its last value.
    fn intern(&mut self, slot: usize, s: Option<&str>) -> u32 {
        let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else {
            return NO_STR;
        };
        if let Some((last, i)) = &self.last_strings[slot] {
            if **last == *s {
                return *i;
            }
        }
        let (arc, i) = match self.string_ids.get_key_value(s) {
            Some((k, &i)) => (k.clone(), i),
            None => {
                let Ok(i) = u32::try_from(self.set.strings.len()) else {
                    return NO_STR;
                };
                let arc: Arc<str> = s.into();
                self.set.strings.push(arc.clone());
                self.string_ids.insert(arc.clone(), i);
                (arc, i)
            }
        };
        self.last_strings[slot] = Some((arc, i));
        i
    }

    fn expires(&self, indicator: &Indicator, meta: &MetaInput<'_>) -> (i64, u8) {
        let mut expires = meta.valid_until.unwrap_or(NEVER);
        let mut flags = 0;
        if self.ttl_ms > 0 {
            let from_ttl = match meta.last_seen.or(meta.first_seen) {
                Some(seen) => seen.saturating_add(self.ttl_ms),
                None => {
                    flags |= EXPIRY_FROM_LOAD;
                    self.previous
                        .as_ref()
                        .and_then(|p| p.exact(indicator).and_then(|m| p.metas.get(m as usize)))
                        .filter(|m| m.flags & EXPIRY_FROM_LOAD != 0)
                        .map(|m| m.expires)
                        .unwrap_or_else(|| self.now.saturating_add(self.ttl_ms))
                }
            };
            expires = expires.min(from_ttl);
        }
        (expires, flags)
    }

    /// Adds (or replaces) an indicator; `false` if it had already expired.
    pub fn insert(&mut self, indicator: Indicator, meta: &MetaInput<'_>) -> bool {
        let (expires, flags) = self.expires(&indicator, meta);
        if expires <= self.now {
            self.skip(SkipReason::Expired);
            return false;
        }
        let meta = Meta {
            first_seen: meta.first_seen.unwrap_or(UNKNOWN_TIME),
            expires,
            provider: self.intern(0, Some(meta.provider)),
            description: self.intern(1, meta.description),
            reference: self.intern(2, meta.reference),
            port: meta.port.unwrap_or(0),
            confidence: meta.confidence.map_or(NO_CONFIDENCE, |c| c.min(100)),
            flags,
        };
        // Shared only with the line before: feeds list indicators of one
        // provider, event or batch together (a plain list shares one meta
        // throughout), and a hash table over a million metas that differ
        // by their timestamps would cost more to build than it saves.
        let id = match self.last_meta {
            Some((last, id)) if last == meta => id,
            _ => {
                let Ok(id) = u32::try_from(self.set.metas.len()) else {
                    self.skip(SkipReason::Malformed);
                    return false;
                };
                if self.set.metas.capacity() == 0 {
                    // Untouched capacity costs no memory; `finish` trims it.
                    self.set.metas.reserve(self.hint);
                }
                self.set.metas.push(meta);
                self.last_meta = Some((meta, id));
                id
            }
        };
        let hint = self.hint;
        let set = &mut self.set;
        match indicator {
            Indicator::Ip(IpAddr::V4(a)) => {
                reserve(&mut set.v4, hint).insert(a.into(), id);
            }
            Indicator::Ip(IpAddr::V6(a)) => {
                reserve(&mut set.v6, hint).insert(a.into(), id);
            }
            Indicator::Net(IpAddr::V4(a), len) => {
                nets_for(&mut set.v4_nets, len).insert(a.into(), id);
            }
            Indicator::Net(IpAddr::V6(a), len) => {
                nets_for(&mut set.v6_nets, len).insert(a.into(), id);
            }
            Indicator::Domain(d) => {
                reserve(&mut set.domains, hint).insert(d, id);
            }
            Indicator::Url(u) => {
                reserve(&mut set.urls, hint).insert(u, id);
            }
            Indicator::Md5(h) => {
                reserve(&mut set.md5, hint).insert(h, id);
            }
            Indicator::Sha1(h) => {
                reserve(&mut set.sha1, hint).insert(h, id);
            }
            Indicator::Sha256(h) => {
                reserve(&mut set.sha256, hint).insert(h, id);
            }
        }
        true
    }

    /// Removes an indicator (a Kafka tombstone).
    pub fn remove(&mut self, indicator: &Indicator) {
        let set = &mut self.set;
        match indicator {
            Indicator::Ip(IpAddr::V4(a)) => {
                set.v4.remove(&u32::from(*a));
            }
            Indicator::Ip(IpAddr::V6(a)) => {
                set.v6.remove(&u128::from(*a));
            }
            Indicator::Net(IpAddr::V4(a), len) => {
                if let Some((_, m)) = set.v4_nets.iter_mut().find(|(l, _)| l == len) {
                    m.remove(&u32::from(*a));
                }
            }
            Indicator::Net(IpAddr::V6(a), len) => {
                if let Some((_, m)) = set.v6_nets.iter_mut().find(|(l, _)| l == len) {
                    m.remove(&u128::from(*a));
                }
            }
            Indicator::Domain(d) => {
                set.domains.remove(d);
            }
            Indicator::Url(u) => {
                set.urls.remove(u);
            }
            Indicator::Md5(h) => {
                set.md5.remove(h);
            }
            Indicator::Sha1(h) => {
                set.sha1.remove(h);
            }
            Indicator::Sha256(h) => {
                set.sha256.remove(h);
            }
        }
    }

    /// A copy of the set as it is now, expired indicators dropped and
    /// unused metadata collected, for a builder that lives on (Kafka).
    pub(crate) fn snapshot(&mut self) -> IndicatorSet {
        self.set.retain_live(self.now);
        // Replaced and deleted indicators leave their metas behind; a topic
        // that keeps updating would grow them without bound.
        if self.set.metas.len() > 2 * self.set.len() + 1024 {
            self.compact();
        }
        let mut copy = self.set.clone();
        copy.refresh_groups();
        copy
    }

    /// Rebuilds the meta and string tables from what is still referenced.
    fn compact(&mut self) {
        let old_metas = std::mem::take(&mut self.set.metas);
        let old_strings = std::mem::take(&mut self.set.strings);
        self.string_ids.clear();
        let mut remap: Vec<u32> = vec![u32::MAX; old_metas.len()];
        let mut metas = Vec::new();
        let mut strings: Vec<Arc<str>> = Vec::new();
        let mut string_ids: Map<Arc<str>, u32> = Map::default();
        let mut restring = |i: u32| -> u32 {
            let Some(s) = old_strings.get(i as usize) else {
                return NO_STR;
            };
            if let Some(&j) = string_ids.get(s) {
                return j;
            }
            let j = u32::try_from(strings.len()).unwrap_or(NO_STR);
            strings.push(s.clone());
            string_ids.insert(s.clone(), j);
            j
        };
        for m in self.set.meta_refs_mut() {
            let (Some(old), Some(new)) = (old_metas.get(*m as usize), remap.get_mut(*m as usize))
            else {
                continue;
            };
            if *new == u32::MAX {
                metas.push(Meta {
                    provider: restring(old.provider),
                    description: restring(old.description),
                    reference: restring(old.reference),
                    ..*old
                });
                *new = u32::try_from(metas.len() - 1).unwrap_or(u32::MAX);
            }
            *m = *new;
        }
        self.set.metas = metas;
        self.set.strings = strings;
        self.string_ids = string_ids;
        // The cached ids point into the old tables.
        self.last_meta = None;
        self.last_strings = Default::default();
    }

    /// The finished set, trimmed to size, and what was skipped.
    pub fn finish(self) -> (IndicatorSet, Skipped) {
        let mut set = self.set;
        set.metas.shrink_to_fit();
        set.strings.shrink_to_fit();
        trim(&mut set.v4);
        trim(&mut set.v6);
        trim(&mut set.domains);
        trim(&mut set.urls);
        trim(&mut set.md5);
        trim(&mut set.sha1);
        trim(&mut set.sha256);
        set.refresh_groups();
        (set, self.skipped)
    }
}

/// The table, sized for `hint` entries on its first insert.
fn reserve<K: std::hash::Hash + Eq>(map: &mut Map<K, u32>, hint: usize) -> &mut Map<K, u32> {
    if map.capacity() == 0 && hint > 0 {
        map.reserve(hint);
    }
    map
}

/// Gives back what [`reserve`] over-estimated: a feed's line count also
/// counts other kinds, comments and malformed lines.
fn trim<K: std::hash::Hash + Eq>(map: &mut Map<K, u32>) {
    if map.capacity() > 2 * map.len() + 16 {
        map.shrink_to_fit();
    }
}

fn nets_for<K>(nets: &mut Vec<(u8, Map<K, u32>)>, len: u8) -> &mut Map<K, u32> {
    let at = match nets.iter().position(|(l, _)| *l <= len) {
        Some(i) if nets[i].0 == len => i,
        Some(i) => {
            nets.insert(i, (len, Map::default()));
            i
        }
        None => {
            nets.push((len, Map::default()));
            nets.len() - 1
        }
    };
    &mut nets[at].1
}
