//! The Connect data model: schemas and values.

mod schema;
mod value;

pub use schema::{logical, schemas, Field, Schema, SchemaRef, SchemaType};
pub use value::{Struct, Value};

/// A value together with its optional schema, as converters return them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SchemaAndValue {
    /// The schema, absent for schemaless data.
    pub schema: Option<SchemaRef>,
    /// The value.
    pub value: Value,
}

impl SchemaAndValue {
    /// A schemaless value.
    pub fn schemaless(value: Value) -> Self {
        SchemaAndValue {
            schema: None,
            value,
        }
    }

    /// The null value, without schema.
    pub fn null() -> Self {
        Self::default()
    }
}
