//! `io.rampart.transforms.Normalize`: maps parsed fields onto the Elastic
//! Common Schema (`schema=ecs`, the default) or OCSF (`schema=ocsf`).
//!
//! The mappings are data ([`mapping`]): built-in ones for syslog, CEF,
//! LEEF, sshd, sudo, iptables and Cisco ASA, and any files named in
//! `mappings`. The output is a new document made of the mapped fields only;
//! the raw line stays in `event.original` and the input can be kept under
//! `keep.input`. A record that no mapping applies to (already ECS, say)
//! passes unchanged and is counted.

pub mod mapping;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use rampart_core::config::{ConfigDef, ConfigType, Importance, Validator};
use rampart_core::data::Value;
use rampart_core::record::ConnectRecord;
use rampart_core::transform::{PluginConfigError, TransformCounter, Transformation};
use rampart_core::ConnectError;

use crate::fields;
pub use mapping::{Mapping, MappingError};

/// The ECS version the built-in mappings follow.
pub const ECS_VERSION: &str = "8.11.0";

const BUILTIN: &[(&str, &str)] = &[
    ("syslog", include_str!("../../mappings/syslog.json")),
    (
        "syslog-names",
        include_str!("../../mappings/syslog-names.json"),
    ),
    ("cef", include_str!("../../mappings/cef.json")),
    ("leef", include_str!("../../mappings/leef.json")),
    ("sshd", include_str!("../../mappings/sshd.json")),
    ("sudo", include_str!("../../mappings/sudo.json")),
    ("iptables", include_str!("../../mappings/iptables.json")),
    ("cisco-asa", include_str!("../../mappings/cisco-asa.json")),
    (
        "ocsf-syslog",
        include_str!("../../mappings/ocsf-syslog.json"),
    ),
    ("ocsf-sshd", include_str!("../../mappings/ocsf-sshd.json")),
];

const ECS_DEFAULT: &str = "syslog,syslog-names,cef,leef,sshd,sudo,iptables,cisco-asa";
const OCSF_DEFAULT: &str = "ocsf-syslog,ocsf-sshd";

/// The keys `Normalize` takes.
pub fn config_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    def.define(
        "schema",
        ConfigType::String,
        Importance::High,
        "The schema to map onto: ecs or ocsf. It picks the default mappings and the version field.",
    )
    .default("ecs")
    .validator(Validator::OneOfIgnoreCase(&["ecs", "ocsf"]))
    .add();
    def.define(
        "mappings",
        ConfigType::List,
        Importance::High,
        &format!("Mappings to apply, in order: built-in names ({}) or paths of mapping files (JSON). Empty: the schema's defaults ({ECS_DEFAULT} for ecs; {OCSF_DEFAULT} for ocsf).", BUILTIN.iter().map(|b| b.0).collect::<Vec<_>>().join(", ")),
    )
    .default("")
    .add();
    def.define(
        "keep.input",
        ConfigType::String,
        Importance::Low,
        "A field under which to keep the input fields as they were. Empty: they are dropped (the raw line stays in event.original).",
    )
    .default("")
    .add();
    def
}

/// Loads mappings by built-in name or file path.
pub fn load_mappings(names: &[String]) -> Result<Vec<Mapping>, String> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for name in names {
        let loaded = match BUILTIN.iter().find(|b| b.0 == name) {
            Some((_, text)) => Mapping::from_json(name, text).map_err(|e| e.to_string()),
            None if name.contains('/') || name.ends_with(".json") => {
                match std::fs::read_to_string(name) {
                    Ok(text) => Mapping::from_json(name, &text).map_err(|e| e.to_string()),
                    Err(e) => Err(format!("{name}: {e}")),
                }
            }
            None => Err(format!(
                "{name}: no such built-in mapping (built in: {}), and not a file path",
                BUILTIN.iter().map(|b| b.0).collect::<Vec<_>>().join(", ")
            )),
        };
        match loaded {
            Ok(m) => out.push(m),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors.join("; "))
    }
}

/// Maps records onto ECS or OCSF.
#[derive(Debug)]
pub struct Normalize {
    mappings: Vec<Mapping>,
    version: (&'static str, &'static str),
    keep_input: String,
    unmapped: AtomicU64,
}

impl Normalize {
    /// Builds the transform from its keys.
    pub fn new(props: &HashMap<String, String>) -> Result<Self, PluginConfigError> {
        let config = config_def().parse(props)?;
        let ocsf = config
            .string("schema")
            .is_some_and(|s| s.eq_ignore_ascii_case("ocsf"));
        let mut names = config.list("mappings");
        if names.is_empty() {
            let default = if ocsf { OCSF_DEFAULT } else { ECS_DEFAULT };
            names = default.split(',').map(str::to_string).collect();
        }
        let mappings = load_mappings(&names).map_err(|e| {
            PluginConfigError::new(
                "mappings",
                format!(
                    "Invalid value {} for configuration mappings: {e}",
                    names.join(",")
                ),
            )
        })?;
        Ok(Normalize {
            mappings,
            version: if ocsf {
                ("metadata.version", "1.3.0")
            } else {
                ("ecs.version", ECS_VERSION)
            },
            keep_input: config.string("keep.input").unwrap_or_default().to_string(),
            unmapped: AtomicU64::new(0),
        })
    }

    /// What the mappings make of one value, or `None` if none applies.
    pub fn normalize(&self, input: &Value) -> Option<Value> {
        let mut out = Value::Map(Vec::with_capacity(16));
        let mut applied = false;
        for m in &self.mappings {
            if m.applies(input) {
                m.apply(input, &mut out);
                applied = true;
            }
        }
        if !applied {
            return None;
        }
        fields::set(&mut out, self.version.0, Value::string(self.version.1));
        if !self.keep_input.is_empty() {
            fields::set(&mut out, &self.keep_input, input.clone());
        }
        Some(out)
    }
}

impl Transformation for Normalize {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>, ConnectError> {
        Ok(self.apply_in_place(&mut record)?.then_some(record))
    }

    fn apply_in_place(&self, record: &mut ConnectRecord) -> Result<bool, ConnectError> {
        if matches!(record.value, Value::Struct(_)) {
            fields::schemaless(record);
        }
        match self.normalize(&record.value) {
            Some(out) => {
                record.value = out;
                record.value_schema = None;
            }
            None => {
                self.unmapped.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(true)
    }

    fn counters(&self) -> Vec<TransformCounter> {
        vec![TransformCounter {
            name: "records_unmapped_total",
            labels: Vec::new(),
            value: self.unmapped.load(Ordering::Relaxed),
        }]
    }
}

#[cfg(test)]
mod tests;
