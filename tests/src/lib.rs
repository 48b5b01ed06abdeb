//! Shared support for the end-to-end tests (`tests/it`), the container
//! tests and the benchmarks: the broker's address, worker processes of the
//! `rampart` binary, polling with deadlines, and clusters of distributed
//! workers. The tests themselves live in `tests/it`.

pub mod cluster;
pub mod support;
