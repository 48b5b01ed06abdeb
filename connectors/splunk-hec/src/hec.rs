//! The HEC protocol, synchronous: response bodies (`{"text":..,"code":..}`,
//! `ackId`, `invalid-event-number`), acknowledgement answers, and what each
//! status code means for the sender. Codes are those of Splunk's
//! "Troubleshoot HTTP Event Collector" page.

use std::collections::HashMap;

use serde::Deserialize;

/// `POST` path of JSON events.
pub const EVENT_PATH: &str = "/services/collector/event";
/// `POST` path of raw data.
pub const RAW_PATH: &str = "/services/collector/raw";
/// `POST` path of acknowledgement polls.
pub const ACK_PATH: &str = "/services/collector/ack";
/// `GET` path of the (unauthenticated) health check.
pub const HEALTH_PATH: &str = "/services/collector/health";
/// The channel header.
pub const CHANNEL_HEADER: &str = "X-Splunk-Request-Channel";

/// What the sender does about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Wait for the backoff and send again (busy, 5xx, network).
    Retryable,
    /// The events were refused: report them to the dead-letter queue.
    InvalidData,
    /// Sending again cannot help (token, channel, configuration): fail the task.
    Fatal,
}

/// A failed HEC request.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HecError {
    /// The server is busy (code 9), unhealthy, or answered 5xx.
    #[error("splunk hec at {uri} is busy or unavailable: {text} (code {code}, http {status})")]
    Busy {
        /// The URI.
        uri: String,
        /// HTTP status.
        status: u16,
        /// HEC code, -1 when the body had none.
        code: i64,
        /// HEC text.
        text: String,
    },
    /// The request did not complete (connect, reset, timeout).
    #[error("cannot reach splunk hec at {uri}: {reason}")]
    Transport {
        /// The URI.
        uri: String,
        /// What went wrong.
        reason: String,
    },
    /// A disabled (1), missing (2, 3) or invalid (4) token.
    #[error("splunk hec at {uri} rejected the token: {text} (code {code}); check splunk.hec.token and that the token is enabled")]
    Token {
        /// The URI.
        uri: String,
        /// HEC code.
        code: i64,
        /// HEC text.
        text: String,
    },
    /// Invalid data format (6), incorrect index (7) and other per-event refusals.
    #[error("splunk hec refused the event: {text} (code {code})")]
    InvalidData {
        /// HEC code.
        code: i64,
        /// HEC text.
        text: String,
        /// The 0-based index of the refused event in the request, if given.
        event_number: Option<usize>,
    },
    /// Anything else that retrying cannot fix.
    #[error("splunk hec at {uri} refused the request: {text} (code {code}, http {status})")]
    Rejected {
        /// The URI.
        uri: String,
        /// HTTP status.
        status: u16,
        /// HEC code, -1 when the body had none.
        code: i64,
        /// HEC text.
        text: String,
    },
    /// The answer's body went over the cap: cut off, never parsed.
    #[error("splunk hec at {uri} answered a body over {}; refusing to read more (http {status})", size(*limit))]
    TooLarge {
        /// The URI.
        uri: String,
        /// HTTP status.
        status: u16,
        /// The cap, in bytes.
        limit: usize,
    },
    /// Retries ran out (`splunk.hec.max.retries`).
    #[error("splunk hec request failed after {retries} retries: {last}")]
    RetriesExhausted {
        /// Retries made.
        retries: u32,
        /// The last error.
        last: Box<HecError>,
    },
}

impl HecError {
    /// What the sender does about it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            HecError::Busy { .. } | HecError::Transport { .. } => ErrorKind::Retryable,
            HecError::InvalidData { .. } => ErrorKind::InvalidData,
            HecError::Token { .. }
            | HecError::Rejected { .. }
            | HecError::RetriesExhausted { .. } => ErrorKind::Fatal,
            // As for an answer without a HEC code, the status decides; a
            // cut-off 2xx is no proof of acceptance, and sending again
            // risks duplicates, not loss.
            HecError::TooLarge { status, .. } => {
                if (400..500).contains(status) && *status != 429 {
                    ErrorKind::Fatal
                } else {
                    ErrorKind::Retryable
                }
            }
        }
    }
}

// A cap for messages: "1 MiB", "4 KiB", else bytes.
fn size(n: usize) -> String {
    match n {
        _ if n >= 1 << 20 && n.is_multiple_of(1 << 20) => format!("{} MiB", n >> 20),
        _ if n >= 1 << 10 && n.is_multiple_of(1 << 10) => format!("{} KiB", n >> 10),
        _ => format!("{n} bytes"),
    }
}

#[derive(Debug, Default, Deserialize)]
struct Body {
    text: Option<String>,
    code: Option<i64>,
    #[serde(rename = "ackId")]
    ack_id: Option<u64>,
    #[serde(rename = "invalid-event-number")]
    invalid_event_number: Option<i64>,
}

/// A request HEC accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// The acknowledgement id, when acknowledgement is on for the token.
    pub ack_id: Option<u64>,
}

/// Interprets a HEC answer to an event, raw or ack request.
pub fn classify(uri: &str, status: u16, body: &[u8]) -> Result<Accepted, HecError> {
    let parsed: Body = serde_json::from_slice(body).unwrap_or_default();
    let code = parsed.code.unwrap_or(-1);
    let text = parsed
        .text
        .clone()
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned());
    if (200..300).contains(&status) && matches!(code, -1 | 0) {
        return Ok(Accepted {
            ack_id: parsed.ack_id,
        });
    }
    let uri = uri.to_string();
    Err(match code {
        1..=4 => HecError::Token { uri, code, text },
        5 | 6 | 7 | 12 | 13 | 15 => HecError::InvalidData {
            code,
            text,
            event_number: parsed
                .invalid_event_number
                .and_then(|n| usize::try_from(n).ok()),
        },
        8 | 9 | 18..=20 => HecError::Busy {
            uri,
            status,
            code,
            text,
        },
        _ if status == 429 || status >= 500 => HecError::Busy {
            uri,
            status,
            code,
            text,
        },
        _ => HecError::Rejected {
            uri,
            status,
            code,
            text,
        },
    })
}

#[derive(Debug, Deserialize)]
struct AckBody {
    acks: HashMap<String, bool>,
}

/// The ack ids an acknowledgement answer (`{"acks":{"0":true,"1":false}}`)
/// reports as indexed.
pub fn acked_ids(body: &[u8]) -> Option<Vec<u64>> {
    let parsed: AckBody = serde_json::from_slice(body).ok()?;
    Some(
        parsed
            .acks
            .into_iter()
            .filter(|(_, done)| *done)
            .filter_map(|(id, _)| id.parse().ok())
            .collect(),
    )
}

/// The body of an acknowledgement poll.
pub fn ack_request(ids: &[u64]) -> Vec<u8> {
    serde_json::json!({ "acks": ids }).to_string().into_bytes()
}

/// A random (version 4) UUID for a channel id, as HEC requires.
pub fn new_channel_id() -> String {
    let mut b = fastrand::u128(..).to_be_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
