//! The REST API in-process (axum's `oneshot`) against the in-memory
//! `FakeHerder`: status codes, bodies and Kafka's message texts, endpoint by
//! endpoint, with no broker. One test binary, as linking is the tax on two
//! cores; the end-to-end suite (`tests/it`) covers what only a real worker
//! can show.

#![allow(clippy::unwrap_used)]

mod admin;
mod connectors;
mod framework;
mod offsets;
mod plugins;
mod support;
mod tasks;
