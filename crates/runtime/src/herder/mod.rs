//! Herders: they own connector configs and target states, and tell the
//! worker what to run. Standalone mode lives here; distributed mode will
//! implement the same `Herder` trait over stores on Kafka topics.

mod offsets;
mod standalone;
mod validation;

pub use standalone::StandaloneHerder;
