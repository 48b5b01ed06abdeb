//! Rampart's runtime: the worker that runs connectors and tasks, the
//! herders that manage them (standalone today, distributed next), the
//! offset, config and status stores, and all Kafka client code (rdkafka).
//!
//! Depends on `rampart-core` for data and interfaces; knows nothing of HTTP
//! (the REST API drives it through `rampart_core::herder::Herder`).

pub mod connector_config;
pub mod distributed;
pub mod herder;
pub mod kafka;
pub mod metrics;
pub mod plugins;
pub mod stores;
pub mod worker;
pub mod worker_config;
