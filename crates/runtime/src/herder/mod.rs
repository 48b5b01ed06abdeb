//! Herders: they own connector configs and target states, and tell the
//! worker what to run: the standalone herder over local files, and the
//! distributed one over Kafka's internal topics and group coordinator.

mod common;
mod deferred;
mod distributed;
mod offsets;
mod standalone;
mod validation;

pub use deferred::DeferredHerder;
pub use distributed::{DistributedHerder, RebalanceMetrics};
pub use standalone::StandaloneHerder;
