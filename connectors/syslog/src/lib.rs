//! The syslog source connector: parsing of RFC 5424, RFC 3164 and their
//! real-world variants (rsyslog ISO timestamps, Cisco, CEF, LEEF), RFC 6587
//! TCP framing, and the mapping of a parsed message to a Connect value
//! (Confluent Syslog Source's schema or Elastic Common Schema).
//!
//! Parsing and mapping are plain synchronous code over byte slices, with no
//! network and no async runtime; the listeners (UDP, TCP, TLS, RELP) and the task
//! sit on top. The crate depends on `rampart-core`'s plugin API only, never
//! on the runtime's Kafka client or on other connectors.

#![warn(missing_docs)]

pub mod config;
mod connector;
mod listener;
pub mod parse;
pub mod record;
pub mod relp;
mod task;
mod tls;

use rampart_core::connector::{ConnectorPlugin, ConnectorType, Task};

pub use connector::SyslogSourceConnector;
pub use listener::ListenerStats;
pub use task::SyslogSourceTask;

/// `io.confluent.connect.syslog.SyslogSourceConnector` (also `SyslogSource`).
pub fn source_plugin() -> ConnectorPlugin {
    ConnectorPlugin {
        class: "io.confluent.connect.syslog.SyslogSourceConnector",
        aliases: &[],
        kind: ConnectorType::Source,
        version: env!("CARGO_PKG_VERSION"),
        config_def: config::def,
        new_connector: || Box::new(SyslogSourceConnector::default()),
        new_task: || Task::Source(Box::<SyslogSourceTask>::default()),
    }
}
