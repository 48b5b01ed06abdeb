//! Connect schemas, mirroring `org.apache.kafka.connect.data.Schema`.

use std::sync::Arc;

use super::Value;

/// A shared, immutable schema. Schemas are built once per connector or per
/// converter cache entry and shared by every record that uses them.
pub type SchemaRef = Arc<Schema>;

/// The primitive and container types of the Connect data model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaType {
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    String,
    Bytes,
    Array,
    Map,
    Struct,
}

impl SchemaType {
    /// The lower-case name used by `JsonConverter` and in error messages.
    pub fn json_name(self) -> &'static str {
        match self {
            SchemaType::Int8 => "int8",
            SchemaType::Int16 => "int16",
            SchemaType::Int32 => "int32",
            SchemaType::Int64 => "int64",
            SchemaType::Float32 => "float",
            SchemaType::Float64 => "double",
            SchemaType::Boolean => "boolean",
            SchemaType::String => "string",
            SchemaType::Bytes => "bytes",
            SchemaType::Array => "array",
            SchemaType::Map => "map",
            SchemaType::Struct => "struct",
        }
    }

    /// Parses a `JsonConverter` type name.
    pub fn from_json_name(name: &str) -> Option<Self> {
        Some(match name {
            "int8" => SchemaType::Int8,
            "int16" => SchemaType::Int16,
            "int32" => SchemaType::Int32,
            "int64" => SchemaType::Int64,
            "float" => SchemaType::Float32,
            "double" => SchemaType::Float64,
            "boolean" => SchemaType::Boolean,
            "string" => SchemaType::String,
            "bytes" => SchemaType::Bytes,
            "array" => SchemaType::Array,
            "map" => SchemaType::Map,
            "struct" => SchemaType::Struct,
            _ => return None,
        })
    }

    /// The upper-case name Kafka uses in `Schema.Type.name()`, e.g. for Cast.
    pub fn upper_name(self) -> &'static str {
        match self {
            SchemaType::Int8 => "INT8",
            SchemaType::Int16 => "INT16",
            SchemaType::Int32 => "INT32",
            SchemaType::Int64 => "INT64",
            SchemaType::Float32 => "FLOAT32",
            SchemaType::Float64 => "FLOAT64",
            SchemaType::Boolean => "BOOLEAN",
            SchemaType::String => "STRING",
            SchemaType::Bytes => "BYTES",
            SchemaType::Array => "ARRAY",
            SchemaType::Map => "MAP",
            SchemaType::Struct => "STRUCT",
        }
    }

    /// Whether this is a primitive (non-container) type.
    pub fn is_primitive(self) -> bool {
        !matches!(
            self,
            SchemaType::Array | SchemaType::Map | SchemaType::Struct
        )
    }
}

/// A named field of a struct schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The field name.
    pub name: String,
    /// Position of the field in its struct.
    pub index: usize,
    /// The field's schema.
    pub schema: SchemaRef,
}

/// A Connect schema. Logical types (Timestamp, Date, Time, Decimal) are
/// expressed the way Kafka does: a primitive type plus a well-known `name`.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// The underlying type.
    pub kind: SchemaType,
    /// Whether null is a valid value.
    pub optional: bool,
    /// Default value, used by converters when a field is null.
    pub default: Option<Value>,
    /// Fully qualified name, also used for logical types.
    pub name: Option<String>,
    /// Schema version.
    pub version: Option<i32>,
    /// Documentation.
    pub doc: Option<String>,
    /// Free-form parameters (e.g. Decimal's `scale`), in insertion order.
    pub parameters: Vec<(String, String)>,
    /// Fields, for structs.
    pub fields: Vec<Field>,
    /// Key schema, for maps.
    pub key_schema: Option<SchemaRef>,
    /// Value schema, for maps, and item schema for arrays.
    pub value_schema: Option<SchemaRef>,
}

/// Well-known logical type names.
pub mod logical {
    /// `org.apache.kafka.connect.data.Timestamp`: int64 milliseconds since the epoch.
    pub const TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";
    /// `org.apache.kafka.connect.data.Date`: int32 days since the epoch.
    pub const DATE: &str = "org.apache.kafka.connect.data.Date";
    /// `org.apache.kafka.connect.data.Time`: int32 milliseconds since midnight.
    pub const TIME: &str = "org.apache.kafka.connect.data.Time";
    /// `org.apache.kafka.connect.data.Decimal`: big-endian two's complement bytes.
    pub const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";
    /// The parameter carrying a Decimal's scale.
    pub const DECIMAL_SCALE: &str = "scale";
}

impl Schema {
    /// A required schema of the given type, with no name.
    pub fn new(kind: SchemaType) -> Self {
        Schema {
            kind,
            optional: false,
            default: None,
            name: None,
            version: None,
            doc: None,
            parameters: Vec::new(),
            fields: Vec::new(),
            key_schema: None,
            value_schema: None,
        }
    }

    /// Marks the schema optional.
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// Sets the schema name.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Adds a struct field.
    pub fn field(mut self, name: impl Into<String>, schema: SchemaRef) -> Self {
        let index = self.fields.len();
        self.fields.push(Field {
            name: name.into(),
            index,
            schema,
        });
        self
    }

    /// An array schema.
    pub fn array(items: SchemaRef) -> Self {
        let mut s = Schema::new(SchemaType::Array);
        s.value_schema = Some(items);
        s
    }

    /// A map schema.
    pub fn map(keys: SchemaRef, values: SchemaRef) -> Self {
        let mut s = Schema::new(SchemaType::Map);
        s.key_schema = Some(keys);
        s.value_schema = Some(values);
        s
    }

    /// Freezes the schema for sharing.
    pub fn build(self) -> SchemaRef {
        Arc::new(self)
    }

    /// Looks a struct field up by name.
    pub fn field_named(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Looks a parameter up by name.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The logical type name, when the schema is one of Kafka's logical types.
    pub fn logical_name(&self) -> Option<&str> {
        match self.name.as_deref() {
            Some(n @ (logical::TIMESTAMP | logical::DATE | logical::TIME | logical::DECIMAL)) => {
                Some(n)
            }
            _ => None,
        }
    }

    /// `Timestamp.SCHEMA` / `Timestamp.builder()`.
    pub fn timestamp() -> Self {
        Schema::new(SchemaType::Int64)
            .named(logical::TIMESTAMP)
            .versioned(1)
    }

    /// `Date.SCHEMA`.
    pub fn date() -> Self {
        Schema::new(SchemaType::Int32)
            .named(logical::DATE)
            .versioned(1)
    }

    /// `Time.SCHEMA`.
    pub fn time() -> Self {
        Schema::new(SchemaType::Int32)
            .named(logical::TIME)
            .versioned(1)
    }

    /// `Decimal.schema(scale)`.
    pub fn decimal(scale: i32) -> Self {
        let mut s = Schema::new(SchemaType::Bytes)
            .named(logical::DECIMAL)
            .versioned(1);
        s.parameters
            .push((logical::DECIMAL_SCALE.to_string(), scale.to_string()));
        s
    }

    /// Sets the version.
    pub fn versioned(mut self, version: i32) -> Self {
        self.version = Some(version);
        self
    }
}

/// Shared schemas for the primitive types, so hot paths don't allocate.
pub mod schemas {
    use std::sync::{Arc, OnceLock};

    use super::{Schema, SchemaRef, SchemaType};

    macro_rules! shared {
        ($name:ident, $kind:expr, $optional:expr) => {
            #[doc = concat!("The shared `", stringify!($name), "` schema.")]
            pub fn $name() -> SchemaRef {
                static S: OnceLock<SchemaRef> = OnceLock::new();
                S.get_or_init(|| {
                    let mut s = Schema::new($kind);
                    s.optional = $optional;
                    Arc::new(s)
                })
                .clone()
            }
        };
    }

    shared!(string, SchemaType::String, false);
    shared!(optional_string, SchemaType::String, true);
    shared!(int32, SchemaType::Int32, false);
    shared!(optional_int32, SchemaType::Int32, true);
    shared!(int64, SchemaType::Int64, false);
    shared!(optional_int64, SchemaType::Int64, true);
    shared!(boolean, SchemaType::Boolean, false);
    shared!(optional_boolean, SchemaType::Boolean, true);
    shared!(bytes, SchemaType::Bytes, false);
    shared!(optional_bytes, SchemaType::Bytes, true);
    shared!(float64, SchemaType::Float64, false);
    shared!(optional_float64, SchemaType::Float64, true);
}
