//! Config definitions, `.properties` files and config providers.

mod def;
mod properties;
mod providers;

pub use def::{
    originals_with_prefix, split_list, ConfigDef, ConfigKey, ConfigType, ConfigValue, Importance,
    KeyBuilder, Parsed, ParsedConfig, Refused, Validator, Width, NO_DEFAULT_VALUE,
};
pub use properties::{parse_properties, parse_properties_map, PropertiesError};
pub use providers::{
    provider_for_class, ConfigProvider, ConfigProviders, DirectoryConfigProvider,
    EnvVarConfigProvider, FileConfigProvider,
};
