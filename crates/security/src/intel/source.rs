//! Where a set comes from (a file, an HTTP(S) URL, a compacted Kafka
//! topic), how it stays current, and how tasks share it.
//!
//! A [`Source`] holds the current [`IndicatorSet`] behind an `ArcSwap`:
//! records read it without a lock, and a reload builds a whole new set
//! beside it and swaps it in, so a lookup never sees half a reload. Each
//! source has one background thread (reloading a file or URL every
//! `reload.interval.ms`, or following a topic) that holds only a `Weak`
//! reference: when the last transform using the source is dropped, the
//! thread is woken and exits.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;

use super::clock::Clock;
use super::formats::{self, Format, FormatError};
use super::http::{HttpLoader, HttpVersion};
use super::kafka;
use super::set::{IndicatorSet, SetBuilder, SkipReason, Skipped};

/// Where indicators are read from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Location {
    /// A local file, re-read when its modification time or size changes.
    File(PathBuf),
    /// An `http://` or `https://` URL, fetched conditionally.
    Http(String),
    /// A compacted topic: key = indicator, value = JSON metadata.
    Kafka(String),
}

impl Location {
    /// Parses one entry of `sources`.
    pub(crate) fn parse(text: &str) -> Result<Location, String> {
        let t = text.trim();
        if let Some(path) = t.strip_prefix("file://") {
            return Self::file(path, t);
        }
        if let Some(path) = t.strip_prefix("file:") {
            return Self::file(path, t);
        }
        let lower = t.get(..8).unwrap_or(t).to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return reqwest::Url::parse(t)
                .map(|_| Location::Http(t.to_string()))
                .map_err(|e| format!("invalid url {}: {e}", redact_url(t)));
        }
        if let Some(topic) = t.strip_prefix("kafka:") {
            let ok = !topic.is_empty()
                && topic.len() <= 249
                && topic
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
            return if ok {
                Ok(Location::Kafka(topic.to_string()))
            } else {
                Err(format!("invalid topic name in {t}"))
            };
        }
        if t.starts_with('/') {
            return Self::file(t, t);
        }
        Err(format!(
            "unsupported source {t}: expected file:<path>, http://, https:// or kafka:<topic>"
        ))
    }

    fn file(path: &str, whole: &str) -> Result<Location, String> {
        if path.is_empty() {
            return Err(format!("no path in {whole}"));
        }
        Ok(Location::File(PathBuf::from(path)))
    }
}

/// A URL as logs and metrics may show it: no user info, no query (feed
/// URLs carry API keys in either).
pub(crate) fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => "<invalid url>".to_string(),
    }
}

/// Everything that decides what a source loads: two transforms with equal
/// specs share one [`Source`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct SourceSpec {
    pub(crate) location: Location,
    pub(crate) format: Format,
    pub(crate) reload_interval: Duration,
    pub(crate) ttl_ms: i64,
    pub(crate) max_bytes: u64,
    pub(crate) http_timeout: Duration,
    pub(crate) http_headers: BTreeMap<String, String>,
    /// librdkafka properties (`kafka.` stripped), for Kafka sources only.
    pub(crate) kafka: BTreeMap<String, String>,
}

impl SourceSpec {
    /// The name logs and errors use.
    pub(crate) fn display(&self) -> String {
        match &self.location {
            Location::File(p) => format!("file:{}", p.display()),
            Location::Http(u) => redact_url(u),
            Location::Kafka(t) => format!("kafka:{t}"),
        }
    }

    /// The provider of indicators whose feed names none.
    fn provider(&self) -> String {
        match &self.location {
            Location::File(p) => p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| p.display().to_string()),
            Location::Http(u) => redact_url(u),
            Location::Kafka(t) => t.clone(),
        }
    }
}

/// Why a source could not be (re)loaded.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The file could not be read.
    #[error("cannot read {path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// The failure.
        error: std::io::Error,
    },
    /// The file or response body is larger than `max.bytes`.
    #[error("{source_name} is larger than max.bytes ({max} bytes)")]
    TooLarge {
        /// The source.
        source_name: String,
        /// The cap.
        max: u64,
    },
    /// A source that had indicators came back empty: most often a file
    /// caught between its truncation and its rewrite.
    #[error("{source_name} is empty; keeping the previous set")]
    Empty {
        /// The source.
        source_name: String,
    },
    /// The request failed (connection, TLS, timeout).
    #[error("cannot fetch {url}: {error}")]
    Http {
        /// The URL, redacted.
        url: String,
        /// The failure.
        error: String,
    },
    /// The server answered other than 200 or 304.
    #[error("{url} answered http status {status}")]
    Status {
        /// The URL, redacted.
        url: String,
        /// The status.
        status: u16,
    },
    /// The content is not the feed format.
    #[error("{source_name}: {error}")]
    Format {
        /// The source.
        source_name: String,
        /// What is wrong.
        error: FormatError,
    },
    /// The Kafka client config was refused.
    #[error("kafka source {topic}: {error}")]
    Kafka {
        /// The topic.
        topic: String,
        /// librdkafka's message.
        error: String,
    },
    /// The reload thread could not start, or died.
    #[error("reload thread for {source_name}: {error}")]
    Thread {
        /// The source.
        source_name: String,
        /// What happened.
        error: String,
    },
}

impl SourceError {
    /// Whether trying again later may succeed without a config change: a
    /// network failure, a server error or a file being replaced may; a
    /// refused client config or a file over the cap will not.
    pub fn is_retryable(&self) -> bool {
        match self {
            SourceError::Io { .. }
            | SourceError::Http { .. }
            | SourceError::Thread { .. }
            | SourceError::Empty { .. } => true,
            SourceError::Status { status, .. } => *status == 429 || *status >= 500,
            // The feed's publisher may fix its content.
            SourceError::Format { .. } => true,
            SourceError::TooLarge { .. } | SourceError::Kafka { .. } => false,
        }
    }
}

/// Load counters of one source, shared by the transforms that use it.
#[derive(Debug, Default)]
pub(crate) struct SourceStats {
    pub(crate) skipped: [AtomicU64; 6],
    pub(crate) loaded: AtomicU64,
    pub(crate) unchanged: AtomicU64,
    pub(crate) failed: AtomicU64,
}

/// One source's current set, shared by every transform configured with
/// the same [`SourceSpec`].
pub(crate) struct Source {
    name: String,
    current: ArcSwap<IndicatorSet>,
    pub(crate) stats: SourceStats,
    reloader: Mutex<Option<std::thread::Thread>>,
    /// Cleared when the background thread exits.
    reloader_alive: Arc<AtomicBool>,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("name", &self.name)
            .field("indicators", &self.current.load().len())
            .finish()
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        // The thread sleeps up to a reload interval; wake it to exit now.
        if let Some(t) = self
            .reloader
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            t.unpark();
        }
    }
}

impl Source {
    fn new(name: String) -> Self {
        Source {
            name,
            current: ArcSwap::from_pointee(IndicatorSet::default()),
            stats: SourceStats::default(),
            reloader: Mutex::new(None),
            reloader_alive: Arc::new(AtomicBool::new(true)),
        }
    }

    /// The current set. Cheap (no lock, no reference count taken in the
    /// common case); hold it for one record, not longer, so a reload's old
    /// set can be freed.
    pub(crate) fn load(&self) -> arc_swap::Guard<Arc<IndicatorSet>> {
        self.current.load()
    }

    /// The current set, as an owned reference.
    pub(crate) fn load_full(&self) -> Arc<IndicatorSet> {
        self.current.load_full()
    }

    /// Whether the background thread still runs (tests).
    #[cfg(test)]
    pub(crate) fn reloader_alive(&self) -> Arc<AtomicBool> {
        self.reloader_alive.clone()
    }

    pub(crate) fn publish(&self, set: IndicatorSet, skipped: Skipped) {
        for reason in SkipReason::ALL {
            self.stats.skipped[reason as usize].fetch_add(skipped.get(reason), Ordering::Relaxed);
        }
        self.current.store(Arc::new(set));
    }
}

/// Clears the alive flag when the background thread ends, however it ends.
pub(crate) struct AliveGuard(pub(crate) Arc<AtomicBool>);

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

type Slot = Arc<Mutex<Weak<Source>>>;

/// Sources by spec, process-wide, so the tasks of a connector (and
/// connectors with the same feed) load a feed once and share one copy:
/// a million indicators are tens of megabytes. Weak references, so a
/// source lives exactly as long as a transform uses it. This is the
/// crate's one global: transforms are built independently by the worker,
/// and nothing else spans them.
static SOURCES: LazyLock<Mutex<HashMap<SourceSpec, Slot>>> = LazyLock::new(Default::default);

/// The source for `spec`: the running one if a transform already uses it,
/// else a new one, loaded before this returns (Kafka sources fill in the
/// background). With `shared` false the source is private (tests that
/// inject a clock).
pub(crate) fn open(
    spec: &SourceSpec,
    clock: Clock,
    shared: bool,
) -> Result<Arc<Source>, SourceError> {
    if !shared {
        return start(spec.clone(), clock);
    }
    let slot = {
        let mut sources = SOURCES.lock().unwrap_or_else(PoisonError::into_inner);
        // Forget sources nobody uses. A slot someone else holds is being
        // opened right now; one only the map holds can be locked at once.
        sources.retain(|_, slot| {
            Arc::strong_count(slot) > 1
                || slot
                    .try_lock()
                    .map(|w| w.strong_count() > 0)
                    .unwrap_or(true)
        });
        sources.entry(spec.clone()).or_default().clone()
    };
    // Only this spec's opener waits here while the first one loads, not
    // every transform being built.
    let mut existing = slot.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(source) = existing.upgrade() {
        return Ok(source);
    }
    let source = start(spec.clone(), clock)?;
    *existing = Arc::downgrade(&source);
    Ok(source)
}

fn start(spec: SourceSpec, clock: Clock) -> Result<Arc<Source>, SourceError> {
    let name = spec.display();
    let source = Arc::new(Source::new(name.clone()));
    let weak = Arc::downgrade(&source);
    let alive = AliveGuard(source.reloader_alive.clone());
    let thread_error = |e: std::io::Error| SourceError::Thread {
        source_name: name.clone(),
        error: e.to_string(),
    };
    let handle = match &spec.location {
        Location::Kafka(topic) => {
            // Create the consumer here so a refused client config fails
            // the transform build; the records arrive in the background.
            let consumer = kafka::consumer(topic, &spec.kafka)?;
            let topic = topic.clone();
            std::thread::Builder::new()
                .name(format!("intel-kafka-{topic}"))
                .spawn(move || {
                    let _alive = alive;
                    kafka::follow(weak, consumer, &topic, &spec, clock);
                })
                .map_err(thread_error)?
        }
        Location::File(_) | Location::Http(_) => {
            let (ready, initial) = sync_channel(1);
            let handle = std::thread::Builder::new()
                .name("intel-reload".to_string())
                .spawn(move || {
                    let _alive = alive;
                    // Built here: the HTTP loader owns a runtime, which must
                    // not be dropped on a caller's async thread.
                    match Loader::new(&spec) {
                        Ok(loader) => reload_loop(weak, spec, loader, clock, ready),
                        Err(e) => {
                            let _ = ready.send(Err(e));
                        }
                    }
                })
                .map_err(thread_error)?;
            let started = initial.recv().unwrap_or_else(|_| {
                Err(SourceError::Thread {
                    source_name: name.clone(),
                    error: "exited before the first load".to_string(),
                })
            });
            started?;
            handle
        }
    };
    *source
        .reloader
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(handle.thread().clone());
    Ok(source)
}

/// What identifies the content last loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Version {
    File {
        modified: Option<SystemTime>,
        len: u64,
    },
    Http(HttpVersion),
}

struct Body {
    bytes: Vec<u8>,
    version: Version,
}

enum Loader {
    File {
        path: PathBuf,
        max_bytes: u64,
        last: Option<Version>,
    },
    Http(Box<HttpLoader>),
}

impl Loader {
    fn new(spec: &SourceSpec) -> Result<Self, SourceError> {
        Ok(match &spec.location {
            Location::File(path) => Loader::File {
                path: path.clone(),
                max_bytes: spec.max_bytes,
                last: None,
            },
            Location::Http(url) => Loader::Http(Box::new(HttpLoader::new(url, spec)?)),
            Location::Kafka(topic) => {
                return Err(SourceError::Thread {
                    source_name: format!("kafka:{topic}"),
                    error: "kafka sources are followed, not loaded".to_string(),
                })
            }
        })
    }

    /// The content, or `None` if it has not changed since [`Loader::mark`].
    fn fetch(&mut self) -> Result<Option<Body>, SourceError> {
        match self {
            Loader::File {
                path,
                max_bytes,
                last,
            } => {
                let io = |error| SourceError::Io {
                    path: path.display().to_string(),
                    error,
                };
                let meta = std::fs::metadata(&*path).map_err(io)?;
                let version = Version::File {
                    modified: meta.modified().ok(),
                    len: meta.len(),
                };
                if last.as_ref() == Some(&version) {
                    return Ok(None);
                }
                let too_large = || SourceError::TooLarge {
                    source_name: path.display().to_string(),
                    max: *max_bytes,
                };
                if meta.len() > *max_bytes {
                    return Err(too_large());
                }
                let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
                // Bounded even if the file grows while it is read.
                std::fs::File::open(&*path)
                    .and_then(|f| f.take(*max_bytes + 1).read_to_end(&mut bytes))
                    .map_err(io)?;
                if bytes.len() as u64 > *max_bytes {
                    return Err(too_large());
                }
                Ok(Some(Body { bytes, version }))
            }
            Loader::Http(http) => Ok(http.fetch()?.map(|(bytes, v)| Body {
                bytes,
                version: Version::Http(v),
            })),
        }
    }

    /// Remembers what was loaded, once it parsed: a body that failed to
    /// parse is fetched again in full next time.
    fn mark(&mut self, version: Version) {
        match (self, version) {
            (Loader::File { last, .. }, v @ Version::File { .. }) => *last = Some(v),
            (Loader::Http(http), Version::Http(v)) => http.mark(v),
            _ => {}
        }
    }
}

enum Outcome {
    Unchanged,
    Loaded {
        set: Box<IndicatorSet>,
        skipped: Skipped,
        format: Format,
    },
}

fn load(
    spec: &SourceSpec,
    loader: &mut Loader,
    clock: &Clock,
    previous: Option<Arc<IndicatorSet>>,
) -> Result<Outcome, SourceError> {
    let Some(body) = loader.fetch()? else {
        return Ok(Outcome::Unchanged);
    };
    // Not marked as loaded, so the next round reads it again: a writer that
    // truncates before it writes leaves an empty file for a moment, and
    // loading it would drop every indicator until the next change.
    if body.bytes.is_empty() && previous.as_ref().is_some_and(|p| !p.is_empty()) {
        return Err(SourceError::Empty {
            source_name: spec.display(),
        });
    }
    let mut builder = SetBuilder::new(spec.ttl_ms, clock(), previous);
    let format = formats::parse(spec.format, &body.bytes, &spec.provider(), &mut builder).map_err(
        |error| SourceError::Format {
            source_name: spec.display(),
            error,
        },
    )?;
    drop(body.bytes);
    loader.mark(body.version);
    let (set, skipped) = builder.finish();
    Ok(Outcome::Loaded {
        set: Box::new(set),
        skipped,
        format,
    })
}

/// Loads, reports the first load's result on `ready`, then reloads every
/// interval until the source is dropped.
fn reload_loop(
    weak: Weak<Source>,
    spec: SourceSpec,
    mut loader: Loader,
    clock: Clock,
    ready: SyncSender<Result<(), SourceError>>,
) {
    let mut first = Some(ready);
    let mut next = Instant::now();
    loop {
        let now = Instant::now();
        if now < next {
            std::thread::park_timeout(next - now);
            if weak.strong_count() == 0 {
                return;
            }
            continue;
        }
        let Some(source) = weak.upgrade() else {
            return;
        };
        next = Instant::now() + spec.reload_interval;
        let started = Instant::now();
        let previous = Some(source.load_full());
        let result = load(&spec, &mut loader, &clock, previous);
        match result {
            Ok(Outcome::Loaded {
                set,
                skipped,
                format,
            }) => {
                tracing::info!(
                    source = %source.name,
                    format = format.name(),
                    indicators = set.len(),
                    skipped = skipped.total(),
                    unsupported_patterns = skipped.get(SkipReason::UnsupportedPattern),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "threat intel set loaded"
                );
                source.stats.loaded.fetch_add(1, Ordering::Relaxed);
                source.publish(*set, skipped);
                if let Some(ready) = first.take() {
                    let _ = ready.send(Ok(()));
                }
            }
            Ok(Outcome::Unchanged) => {
                source.stats.unchanged.fetch_add(1, Ordering::Relaxed);
                if let Some(ready) = first.take() {
                    let _ = ready.send(Ok(()));
                }
            }
            Err(error) => {
                source.stats.failed.fetch_add(1, Ordering::Relaxed);
                if let Some(ready) = first.take() {
                    let _ = ready.send(Err(error));
                    return;
                }
                tracing::warn!(
                    source = %source.name,
                    %error,
                    retryable = error.is_retryable(),
                    "threat intel reload failed; keeping the previous set"
                );
            }
        }
    }
}
