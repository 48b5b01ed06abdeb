//! A test of one field: equal to one of some values, matching a regex, or
//! an address inside one of some CIDR blocks. `Drop` and the
//! `FieldMatches` predicate share it.

use std::net::IpAddr;

use rampart_core::config::{ConfigDef, ConfigType, Importance, ParsedConfig};
use rampart_core::data::Value;
use rampart_core::transform::PluginConfigError;
use regex::Regex;

use crate::fields;

/// An IPv4 or IPv6 block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: u128,
    mask: u128,
    v4: bool,
}

impl Cidr {
    /// Parses `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128).
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, len) = match text.trim().split_once('/') {
            Some((a, l)) => (a, Some(l.parse::<u32>().ok()?)),
            None => (text.trim(), None),
        };
        let ip: IpAddr = addr.parse().ok()?;
        let (bits, v4) = match ip {
            IpAddr::V4(v) => (u128::from(u32::from(v)), true),
            IpAddr::V6(v) => (u128::from(v), false),
        };
        let width = if v4 { 32 } else { 128 };
        let len = len.unwrap_or(width);
        if len > width {
            return None;
        }
        let mask = if len == 0 {
            0
        } else {
            (u128::MAX << (width - len)) & if v4 { u128::from(u32::MAX) } else { u128::MAX }
        };
        Some(Cidr {
            network: bits & mask,
            mask,
            v4,
        })
    }

    /// Whether the block holds `ip`.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(v) if self.v4 => u128::from(u32::from(v)) & self.mask == self.network,
            IpAddr::V6(v) if !self.v4 => u128::from(v) & self.mask == self.network,
            _ => false,
        }
    }
}

#[derive(Debug)]
enum Test {
    Equals(Vec<String>),
    Regex(Regex),
    Cidr(Vec<Cidr>),
}

/// A compiled field test.
#[derive(Debug)]
pub struct FieldMatcher {
    field: String,
    test: Test,
}

/// Adds `field`, `equals`, `regex` and `cidr` to a definition.
pub fn define(def: &mut ConfigDef) {
    def.define(
        "field",
        ConfigType::String,
        Importance::High,
        "The field to test (dotted paths reach nested fields).",
    )
    .add();
    def.define(
        "equals",
        ConfigType::List,
        Importance::High,
        "Matches when the field equals one of these values.",
    )
    .default("")
    .add();
    def.define(
        "regex",
        ConfigType::String,
        Importance::High,
        "Matches when this regex finds a match in the field's text.",
    )
    .default("")
    .add();
    def.define(
        "cidr",
        ConfigType::List,
        Importance::High,
        "Matches when the field is an IP address inside one of these blocks (e.g. 10.0.0.0/8, fe80::/10).",
    )
    .default("")
    .add();
}

impl FieldMatcher {
    /// Builds the matcher from parsed keys; exactly one test must be given.
    pub fn from_config(config: &ParsedConfig) -> Result<Self, PluginConfigError> {
        let field = config
            .string("field")
            .unwrap_or_default()
            .trim()
            .to_string();
        let equals = config.list("equals");
        let regex = config.string("regex").unwrap_or_default();
        let cidr = config.list("cidr");
        let given = [!equals.is_empty(), !regex.is_empty(), !cidr.is_empty()];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(PluginConfigError::new(
                "equals",
                "Exactly one of equals, regex and cidr must be set",
            ));
        }
        let test = if !equals.is_empty() {
            Test::Equals(equals)
        } else if !regex.is_empty() {
            Test::Regex(Regex::new(regex).map_err(|e| {
                PluginConfigError::new(
                    "regex",
                    format!("Invalid value {regex} for configuration regex: {e}"),
                )
            })?)
        } else {
            let mut blocks = Vec::new();
            for c in &cidr {
                blocks.push(Cidr::parse(c).ok_or_else(|| {
                    PluginConfigError::new(
                        "cidr",
                        format!("Invalid value {c} for configuration cidr: not an IP address or CIDR block"),
                    )
                })?);
            }
            Test::Cidr(blocks)
        };
        Ok(FieldMatcher { field, test })
    }

    /// The field tested.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// Whether the value's field passes the test; a missing field never
    /// does, and an array (ECS `event.category`) does when any item does.
    pub fn matches(&self, value: &Value) -> bool {
        match fields::get(value, &self.field) {
            Some(Value::Array(items)) => items.iter().any(|v| self.test(v)),
            Some(v) => self.test(v),
            None => false,
        }
    }

    fn test(&self, value: &Value) -> bool {
        let Some(text) = fields::text(value) else {
            return false;
        };
        match &self.test {
            Test::Equals(list) => list.iter().any(|x| *x == text),
            Test::Regex(r) => r.is_match(&text),
            Test::Cidr(blocks) => text
                .trim()
                .parse::<IpAddr>()
                .is_ok_and(|ip| blocks.iter().any(|b| b.contains(ip))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_blocks_contain_their_addresses_only() {
        let b = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(b.contains("10.1.255.3".parse().unwrap()));
        assert!(!b.contains("10.2.0.1".parse().unwrap()));
        assert!(!b.contains("::ffff:10.1.0.1".parse().unwrap()));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(Cidr::parse("1.2.3.4")
            .unwrap()
            .contains("1.2.3.4".parse().unwrap()));
        assert_eq!(Cidr::parse("1.2.3.4/33"), None);
        assert_eq!(Cidr::parse("nope/8"), None);
    }
}
