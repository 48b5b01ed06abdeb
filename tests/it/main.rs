//! End-to-end tests against a real Apache Kafka broker (started by
//! `scripts/test` / `.ci/run`) and the `rampart` binary. One test binary,
//! as linking is the tax on two cores.

#![allow(clippy::unwrap_used)]

use rampart_tests::{cluster, support};

mod differential_protocol;
mod differential_rest;
mod differential_smt;
mod distributed_config;
mod distributed_group;
mod distributed_offsets;
mod distributed_status;
mod distributed_takeover;
mod distributed_topics;
mod distributed_workers;
mod elasticsearch;
mod errant_reporter;
mod errors_dlq;
mod fault_proxy;
mod faults;
mod file_pipeline;
mod kafka_security;
mod metrics_parity;
mod readme;
mod rest_inprocess;
mod rest_socket;
mod s3;
mod security_chain;
mod source_features;
mod splunk_hec;
mod syslog;
mod syslog_hostile;
mod syslog_relp;
mod threat_intel_topic;
