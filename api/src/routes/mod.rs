//! Handlers, one module per resource.

pub(crate) mod admin;
pub(crate) mod connectors;
pub(crate) mod plugins;
pub(crate) mod root;
