//! Distributed mode: workers in one group on the Kafka cluster share the
//! connectors and tasks. This module holds the parts that are pure logic,
//! tested without a broker; the group client, the Kafka-backed stores and
//! the distributed herder build on them.

pub mod assignor;
pub mod config;
pub mod config_state;
pub mod config_topic;
pub mod group;
pub mod group_security;
pub mod internal_topics;
mod log;
pub mod offset_store;
pub mod protocol;
pub mod records;
pub mod signature;
pub mod status_store;
