//! Index and data-stream names, and document ids. Pure functions.

use thiserror::Error;

/// Elasticsearch's limit on index names, in bytes.
const MAX_INDEX_BYTES: usize = 255;
/// Confluent's limit on a data stream's dataset and namespace.
const MAX_DATA_STREAM_PART: usize = 100;
/// Characters Elasticsearch forbids in index names (`MetadataCreateIndexService`
/// and `Strings.INVALID_FILENAME_CHARS`, plus `#` and `:` since 7.0).
const FORBIDDEN: &[char] = &['\\', '/', '*', '?', '"', '<', '>', '|', ' ', ',', '#', ':'];

/// A name Elasticsearch would refuse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NameError {
    /// Empty.
    #[error("index name must not be empty")]
    Empty,
    /// Longer than 255 bytes.
    #[error("invalid index name '{0}': longer than 255 bytes")]
    TooLong(String),
    /// Has upper-case letters.
    #[error("invalid index name '{0}': must be lowercase")]
    Uppercase(String),
    /// Has a forbidden character.
    #[error("invalid index name '{name}': must not contain '{ch}' (forbidden: \\ / * ? \" < > | space , # :)")]
    Forbidden {
        /// The name.
        name: String,
        /// The character.
        ch: char,
    },
    /// Starts with `-`, `_` or `+`.
    #[error("invalid index name '{0}': must not start with '-', '_' or '+'")]
    BadStart(String),
    /// `.` or `..`.
    #[error("invalid index name '{0}': must not be '.' or '..'")]
    Dots(String),
    /// A dataset or namespace breaking the data-stream naming scheme.
    #[error("invalid data stream name part '{0}': must be at most 100 characters, lowercase, without spaces or any of / \\ * \" < > | , # : -")]
    DataStreamPart(String),
}

/// Checks a name against Elasticsearch's index (and data stream) naming rules.
pub fn validate_index_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_INDEX_BYTES {
        return Err(NameError::TooLong(name.to_string()));
    }
    if name.chars().any(char::is_uppercase) {
        return Err(NameError::Uppercase(name.to_string()));
    }
    if let Some(ch) = name.chars().find(|c| FORBIDDEN.contains(c)) {
        return Err(NameError::Forbidden {
            name: name.to_string(),
            ch,
        });
    }
    if name.starts_with(['-', '_', '+']) {
        return Err(NameError::BadStart(name.to_string()));
    }
    if name == "." || name == ".." {
        return Err(NameError::Dots(name.to_string()));
    }
    Ok(())
}

/// Checks a data stream's dataset or namespace, as Confluent does.
pub fn validate_data_stream_part(part: &str) -> Result<(), NameError> {
    let bad = part.is_empty()
        || part.chars().count() > MAX_DATA_STREAM_PART
        || part.chars().any(char::is_uppercase)
        || part.chars().any(|c| FORBIDDEN.contains(&c) || c == '-');
    if bad {
        Err(NameError::DataStreamPart(part.to_string()))
    } else {
        Ok(())
    }
}

/// The index for a topic, converted as Confluent's `DataConverter` does:
/// lower-cased, leading `-` and `_` removed, `.` and `..` spelled out,
/// truncated to 255 bytes. The result is then validated, so a name a
/// router produced with forbidden characters fails with a clear error.
pub fn index_for_topic(topic: &str) -> Result<String, NameError> {
    let mut name = topic.to_lowercase();
    let trimmed = name.trim_start_matches(['-', '_']);
    if trimmed.len() != name.len() {
        name = trimmed.to_string();
    }
    if name == "." {
        name = "dot".to_string();
    } else if name == ".." {
        name = "dotdot".to_string();
    }
    if name.len() > MAX_INDEX_BYTES {
        let mut end = MAX_INDEX_BYTES;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
    }
    validate_index_name(&name)?;
    Ok(name)
}

/// `data.stream.type`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataStreamType {
    /// `logs`
    Logs,
    /// `metrics`
    Metrics,
}

impl DataStreamType {
    /// `logs` or `metrics`, lower-case; `None` for `none`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "logs" => Some(DataStreamType::Logs),
            "metrics" => Some(DataStreamType::Metrics),
            _ => None,
        }
    }

    /// The name's first part.
    pub fn as_str(self) -> &'static str {
        match self {
            DataStreamType::Logs => "logs",
            DataStreamType::Metrics => "metrics",
        }
    }
}

/// The data stream `{type}-{dataset}-{namespace}`, with `${topic}` in the
/// namespace replaced by the (lower-cased) topic.
pub fn data_stream_name(
    kind: DataStreamType,
    dataset: &str,
    namespace: &str,
    topic: &str,
) -> Result<String, NameError> {
    let namespace = namespace.replace("${topic}", &topic.to_lowercase());
    let name = format!("{}-{dataset}-{namespace}", kind.as_str());
    validate_index_name(&name)?;
    Ok(name)
}

/// The document id when the key is ignored: `topic+partition+offset`, as
/// Confluent's connector builds it from the record's (possibly routed) topic
/// and its original Kafka offset. Deterministic, so a record redelivered
/// after a crash overwrites its own document.
pub fn offset_id(topic: &str, partition: i32, offset: i64) -> String {
    format!("{topic}+{partition}+{offset}")
}
