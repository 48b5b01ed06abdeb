//! `org.apache.kafka.connect.transforms.DropHeaders`.

use std::collections::HashMap;

use super::util::apply_via_in_place;
use super::util::{non_empty, non_empty_list};
use super::{PluginConfigError, Transformation};
use crate::config::{ConfigDef, ConfigType, Importance};
use crate::record::ConnectRecord;
use crate::ConnectError;

pub(crate) fn config_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    def.define(
        "headers",
        ConfigType::List,
        Importance::High,
        "The name of the headers to be removed.",
    )
    .validator(non_empty_list())
    .add();
    def
}

/// Removes every header with one of the configured names.
#[derive(Debug)]
pub(crate) struct DropHeaders {
    headers: Vec<String>,
}

impl DropHeaders {
    pub(crate) fn new(props: &HashMap<String, String>) -> Result<Self, PluginConfigError> {
        let config = config_def().parse(props)?;
        Ok(DropHeaders {
            headers: non_empty(&config, "headers")?,
        })
    }
}

impl Transformation for DropHeaders {
    apply_via_in_place!();

    fn apply_in_place(&self, record: &mut ConnectRecord) -> Result<bool, ConnectError> {
        record.headers.0.retain(|h| !self.headers.contains(&h.key));
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_all_headers_with_the_names() {
        let t = DropHeaders::new(&HashMap::from([(
            "headers".to_string(),
            "a, c".to_string(),
        )]))
        .unwrap();
        let mut r = ConnectRecord::default();
        r.headers.add_string("a", "1");
        r.headers.add_string("b", "2");
        r.headers.add_string("a", "3");
        let out = t.apply(r).unwrap().unwrap();
        let keys: Vec<&str> = out.headers.iter().map(|h| h.key.as_str()).collect();
        assert_eq!(keys, ["b"]);
    }

    #[test]
    fn requires_a_non_empty_list() {
        let e = DropHeaders::new(&HashMap::new()).unwrap_err();
        assert_eq!(e.key, "headers");
        let e = DropHeaders::new(&HashMap::from([("headers".to_string(), "".to_string())]))
            .unwrap_err();
        assert_eq!(
            e.message,
            "Invalid value [] for configuration headers: Empty list"
        );
    }
}
