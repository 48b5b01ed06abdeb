//! Rampart's core: records, Connect schemas and values, config definitions
//! and validation, converters, transforms, predicates, the plugin API that
//! connectors implement, and the herder interface the REST API talks to.
//!
//! Pure by design: no tokio, no network, no Kafka client. Everything here is
//! synchronous or an interface, testable without a runtime.

pub mod backoff;
pub mod config;
pub mod connector;
pub mod converter;
pub mod data;
mod error;
#[cfg(any(test, feature = "golden"))]
pub mod golden;
pub mod herder;
pub mod record;
pub mod transform;

pub use error::{ConnectError, ConnectResult, DataError};
