//! Per-key state in bounded memory: the keys a hostile or noisy source can
//! mint (one per source IP, one per message) never grow the worker beyond
//! `max.keys`; the least recently seen key is evicted first, and evictions
//! are counted.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use lru::LruCache;
use rampart_core::data::Value;
use rampart_core::record::ConnectRecord;

use crate::fields;

/// Separates the fields of a compound key; it cannot occur in log text
/// that matters (ASCII unit separator).
const SEPARATOR: char = '\u{1f}';

/// The key of a record: the text of each field, joined. `None` when every
/// field is missing, so records without the key are never lumped together.
pub fn key_of(value: &Value, paths: &[String]) -> Option<String> {
    let mut key = String::new();
    let mut any = false;
    for (i, path) in paths.iter().enumerate() {
        if i > 0 {
            key.push(SEPARATOR);
        }
        if let Some(text) = fields::get_text(value, path) {
            key.push_str(&text);
            any = true;
        }
    }
    any.then_some(key)
}

/// Event time for windows: the record's timestamp, or now.
pub fn time_of(record: &ConnectRecord) -> i64 {
    record.timestamp.unwrap_or_else(now_ms)
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Bounded per-key state.
pub struct KeyedState<V> {
    entries: Mutex<LruCache<String, V>>,
    evicted: AtomicU64,
}

impl<V> std::fmt::Debug for KeyedState<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedState")
            .field("evicted", &self.evicted)
            .finish()
    }
}

impl<V> KeyedState<V> {
    /// State for at most `max_keys` keys (at least one).
    pub fn new(max_keys: usize) -> Self {
        let cap = NonZeroUsize::new(max_keys.max(1)).unwrap_or(NonZeroUsize::MIN);
        KeyedState {
            entries: Mutex::new(LruCache::new(cap)),
            evicted: AtomicU64::new(0),
        }
    }

    /// Runs `f` on the key's state, creating it with `init` (and evicting
    /// the least recently used key when full).
    pub fn with<R>(&self, key: &str, init: impl FnOnce() -> V, f: impl FnOnce(&mut V) -> R) -> R {
        // A panic elsewhere while holding the lock leaves plain counters.
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() == entries.cap().get() && !entries.contains(key) {
            self.evicted.fetch_add(1, Ordering::Relaxed);
        }
        f(entries.get_or_insert_mut_ref(key, init))
    }

    /// How many keys were evicted to stay within the bound.
    pub fn evicted(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }

    /// How many keys are held.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_stays_within_max_keys_and_evicts_the_least_recent() {
        let state: KeyedState<u32> = KeyedState::new(2);
        state.with("a", || 0, |v| *v += 1);
        state.with("b", || 0, |v| *v += 1);
        state.with("a", || 0, |v| *v += 1);
        state.with("c", || 0, |v| *v += 1);
        assert_eq!(state.len(), 2);
        assert_eq!(state.evicted(), 1);
        // "b" was least recent: it starts again; "a" kept its count.
        assert_eq!(state.with("a", || 0, |v| *v), 2);
        assert_eq!(state.with("b", || 0, |v| *v), 0);
    }

    #[test]
    fn keys_join_fields_and_missing_everywhere_is_no_key() {
        let v = fields::map([("a", Value::string("x")), ("b", Value::Int64(3))]);
        let paths = vec!["a".to_string(), "b".to_string()];
        assert_eq!(key_of(&v, &paths).as_deref(), Some("x\u{1f}3"));
        assert_eq!(key_of(&v, &["zz".to_string()]), None);
    }
}
