//! `FakeLoggers`: log levels in memory, with the binary's rules (the root
//! logger is always listed; setting a level sets it on descendants too).

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use crate::{LoggerAdmin, LoggerLevel};

/// An in-memory [`LoggerAdmin`]. `last_modified` counts changes (1, 2, …)
/// instead of reading the clock, so tests can assert it.
#[derive(Debug, Default)]
pub struct FakeLoggers {
    // Loggers set explicitly, and the number of changes so far.
    state: Mutex<(BTreeMap<String, LoggerLevel>, i64)>,
}

impl LoggerAdmin for FakeLoggers {
    fn levels(&self) -> BTreeMap<String, LoggerLevel> {
        let mut out = self
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .clone();
        out.entry("root".to_string()).or_insert(LoggerLevel {
            level: "INFO".to_string(),
            last_modified: None,
        });
        out
    }

    fn level(&self, name: &str) -> Option<LoggerLevel> {
        self.levels().remove(name)
    }

    fn set_level(&self, name: &str, level: &str) -> Result<Vec<String>, String> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (explicit, changes) = &mut *state;
        *changes += 1;
        let set = LoggerLevel {
            level: level.to_string(),
            last_modified: Some(*changes),
        };
        let mut affected = vec![name.to_string()];
        // log4j's hierarchy: the root's descendants are every logger.
        for (n, l) in explicit.iter_mut() {
            if name == "root" || n.starts_with(&format!("{name}.")) {
                *l = set.clone();
                affected.push(n.clone());
            }
        }
        explicit.insert(name.to_string(), set);
        affected.sort();
        affected.dedup();
        Ok(affected)
    }
}
