//! The herder's state behind interfaces: connector configs and target
//! states, source offsets, and statuses. Standalone mode keeps them in local
//! files and memory; distributed mode puts the same interfaces on Kafka's
//! internal topics.

mod config;
mod file;
mod offset;
mod status;

pub use config::{ConfigBackingStore, FileConfigBackingStore, StoredConnector};
pub(crate) use offset::ConnectorOffsetReader;
pub use offset::{FileOffsetBackingStore, OffsetBackingStore};
pub use status::{MemoryStatusBackingStore, StatusBackingStore};
