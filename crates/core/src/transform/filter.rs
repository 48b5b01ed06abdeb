//! `org.apache.kafka.connect.transforms.Filter`: drops every record it is
//! applied to; meant to be guarded by a predicate.

use super::Transformation;
use crate::config::ConfigDef;
use crate::record::ConnectRecord;
use crate::ConnectError;

pub(crate) fn config_def() -> ConfigDef {
    ConfigDef::new()
}

/// Drops the record.
#[derive(Debug)]
pub(crate) struct Filter;

impl Transformation for Filter {
    fn apply(&self, _record: ConnectRecord) -> Result<Option<ConnectRecord>, ConnectError> {
        Ok(None)
    }

    fn apply_in_place(&self, _record: &mut ConnectRecord) -> Result<bool, ConnectError> {
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_everything() {
        assert_eq!(Filter.apply(ConnectRecord::default()).unwrap(), None);
    }
}
