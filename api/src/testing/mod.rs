//! Fakes for broker-free tests of the REST API (the `testing` feature): an
//! in-memory [`FakeHerder`] and [`FakeLoggers`]. The API's own tests and the
//! `rest_bodies` fuzz target drive the real router against them.
//!
//! The fake herder answers with the error variants and Kafka message texts
//! the runtime's herders use, so a status code or body asserted against it
//! is what a client of a real worker sees. Tasks never run: statuses follow
//! the target state until a test fails an instance.

mod herder;
mod loggers;
mod plugins;

use std::sync::Arc;

pub use herder::{FakeHerder, WORKER_ID};
pub use loggers::FakeLoggers;
pub use plugins::{FAKE_SINK, FAKE_SOURCE};

use crate::AppState;

/// Handler state over a herder and fresh loggers.
pub fn app_state(herder: Arc<FakeHerder>) -> AppState {
    AppState {
        herder,
        loggers: Arc::new(FakeLoggers::default()),
    }
}
