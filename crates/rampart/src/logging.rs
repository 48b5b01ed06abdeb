//! Logging: tracing with a reloadable filter, so `/admin/loggers` can change
//! levels at runtime.

use std::collections::BTreeMap;
use std::sync::Mutex;

use rampart_api::{LoggerAdmin, LoggerLevel};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

type Handle = reload::Handle<EnvFilter, Registry>;

/// Loggers set over REST, applied as `EnvFilter` directives.
pub struct Loggers {
    handle: Handle,
    root: String,
    explicit: Mutex<BTreeMap<String, LoggerLevel>>,
}

fn directive_level(level: &str) -> &'static str {
    match level {
        "TRACE" => "trace",
        "DEBUG" => "debug",
        "INFO" => "info",
        "WARN" => "warn",
        "ERROR" | "FATAL" => "error",
        "ALL" => "trace",
        _ => "off",
    }
}

/// Installs the global subscriber. `RUST_LOG` wins over the default `info`.
pub fn init() -> Loggers {
    let root = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_string());
    let filter = EnvFilter::try_new(&root).unwrap_or_else(|_| EnvFilter::new("info"));
    let (layer, handle) = reload::Layer::new(filter);
    tracing_subscriber::registry()
        .with(layer)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                // No colour codes in container logs and files.
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
        )
        .init();
    Loggers {
        handle,
        root,
        explicit: Mutex::new(BTreeMap::new()),
    }
}

impl Loggers {
    fn apply(&self, explicit: &BTreeMap<String, LoggerLevel>) -> Result<(), String> {
        let mut spec = explicit.get("root").map_or_else(
            || self.root.clone(),
            |l| directive_level(&l.level).to_string(),
        );
        for (name, level) in explicit.iter().filter(|(n, _)| n.as_str() != "root") {
            spec.push_str(&format!(
                ",{}={}",
                name.replace('.', "::"),
                directive_level(&level.level)
            ));
        }
        let filter = EnvFilter::try_new(&spec).map_err(|e| e.to_string())?;
        self.handle.reload(filter).map_err(|e| e.to_string())
    }
}

impl LoggerAdmin for Loggers {
    fn levels(&self) -> BTreeMap<String, LoggerLevel> {
        let mut out = self.explicit.lock().map(|e| e.clone()).unwrap_or_default();
        // RUST_LOG may carry per-target directives; the root level is the
        // bare one (`info` in `info,rdkafka=warn`).
        let root = self
            .root
            .split(',')
            .find(|d| !d.contains('=') && !d.trim().is_empty())
            .unwrap_or("info")
            .trim()
            .to_ascii_uppercase();
        out.entry("root".into()).or_insert(LoggerLevel {
            level: root,
            last_modified: None,
        });
        out
    }

    fn level(&self, name: &str) -> Option<LoggerLevel> {
        self.levels().remove(name)
    }

    fn set_level(&self, name: &str, level: &str) -> Result<Vec<String>, String> {
        let mut explicit = self
            .explicit
            .lock()
            .map_err(|_| "logger state poisoned".to_string())?;
        let now = chrono_ms();
        let mut affected = vec![name.to_string()];
        // Descendants take the new level too, as log4j's hierarchy does;
        // the root's descendants are every logger.
        for (n, l) in explicit.iter_mut() {
            if name == "root"
                || n.starts_with(&format!("{name}."))
                || n.starts_with(&format!("{name}::"))
            {
                l.level = level.to_string();
                l.last_modified = Some(now);
                affected.push(n.clone());
            }
        }
        explicit.insert(
            name.to_string(),
            LoggerLevel {
                level: level.to_string(),
                last_modified: Some(now),
            },
        );
        self.apply(&explicit)?;
        affected.sort();
        affected.dedup();
        Ok(affected)
    }
}

fn chrono_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
