//! The syslog source connector: parsing of RFC 5424, RFC 3164 and their
//! real-world variants (rsyslog ISO timestamps, Cisco, CEF, LEEF), RFC 6587
//! TCP framing, and the mapping of a parsed message to a Connect value
//! (Confluent Syslog Source's schema or Elastic Common Schema).
//!
//! Parsing and mapping are plain synchronous code over byte slices: no
//! network, no async runtime. The crate depends on `rampart-core` only,
//! never on the runtime's Kafka client or on other connectors.

#![warn(missing_docs)]

pub mod parse;
pub mod record;
