//! The tasks: a line reader whose offset is Java's (the position in UTF-16
//! code units, as Kafka's task counts the characters it read), and a line
//! writer that makes lines durable before offsets are committed.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::time::Duration;

use async_trait::async_trait;
use rampart_core::connector::{
    Config, SinkOffsets, SinkTask, SinkTaskContext, SourceTask, SourceTaskContext,
};
use rampart_core::data::{schemas, Value};
use rampart_core::record::{SinkRecord, SourceMap, SourceRecord};
use rampart_core::{ConnectError, ConnectResult};
use serde_json::Value as Json;
use tracing::{info, warn};

use crate::config::{BATCH_SIZE, FILE, TOPIC};

/// How long `poll` waits when the file has no new complete line.
const IDLE_WAIT: Duration = Duration::from_millis(100);
const READ_CHUNK: usize = 64 * 1024;

/// Reads lines from a file (or stdin) into a topic.
#[derive(Default)]
pub struct FileStreamSourceTask {
    path: Option<String>,
    topic: String,
    batch_size: usize,
    file: Option<Box<dyn Read + Send + Sync>>,
    // Bytes read but not yet returned as complete lines.
    buffer: Vec<u8>,
    // Position of the first byte of `buffer` in the file, in UTF-16 code
    // units: the `position` Kafka's FileStreamSourceTask commits. Equal to
    // the byte position for ASCII files.
    position: u64,
    context: Option<SourceTaskContext>,
}

impl FileStreamSourceTask {
    fn partition(&self) -> SourceMap {
        let mut m = SourceMap::new();
        m.insert(
            "filename".into(),
            self.path.clone().map_or(Json::Null, Json::String),
        );
        m
    }

    // Opens the file at the committed position; a missing file is retried
    // on the next poll, as Kafka's task does.
    fn open(&mut self) -> ConnectResult<bool> {
        if self.file.is_some() {
            return Ok(true);
        }
        let Some(path) = self.path.clone() else {
            self.file = Some(Box::new(std::io::stdin()));
            return Ok(true);
        };
        let mut f = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                warn!(file = %path, "couldn't find file for FileStreamSourceTask, sleeping to wait for it to be created");
                return Ok(false);
            }
            Err(e) => {
                return Err(ConnectError::connect(format!(
                    "Couldn't open file {path}: {e}"
                )))
            }
        };
        let committed = self
            .context
            .as_ref()
            .and_then(|c| c.offsets.offset(&self.partition()))
            .and_then(|o| o.get("position").and_then(Json::as_u64));
        if let Some(units) = committed {
            // Java seeks `position` bytes, which is its own count only for
            // ASCII; we find the byte where that many characters end, so
            // offsets Java wrote resume at the line Java meant.
            let byte = byte_offset_of_units(&mut f, units).map_err(|e| {
                ConnectError::connect(format!("Couldn't read {path} to resume at {units}: {e}"))
            })?;
            f.seek(SeekFrom::Start(byte)).map_err(|e| {
                ConnectError::connect(format!("Couldn't seek {path} to {byte}: {e}"))
            })?;
            info!(file = %path, position = units, byte, "resuming from committed offset");
            self.position = units;
        }
        self.file = Some(Box::new(f));
        Ok(true)
    }

    fn read_lines(&mut self) -> ConnectResult<Vec<SourceRecord>> {
        let mut records = Vec::new();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let partition = self.partition();
        // Lines are cut from the front of `buffer` by advancing `consumed`;
        // the bytes are removed once per read, not once per line.
        let mut consumed = 0;
        loop {
            while records.len() < self.batch_size {
                let rest = &self.buffer[consumed..];
                let Some(nl) = rest.iter().position(|b| *b == b'\n') else {
                    break;
                };
                let line_end = if nl > 0 && rest[nl - 1] == b'\r' {
                    nl - 1
                } else {
                    nl
                };
                let line = String::from_utf8_lossy(&rest[..line_end]).into_owned();
                consumed += nl + 1;
                self.position += utf16_len(&line) + (nl - line_end) as u64 + 1;
                let mut offset = SourceMap::new();
                offset.insert("position".into(), Json::from(self.position));
                let mut record = SourceRecord::source(
                    partition.clone(),
                    offset,
                    self.topic.clone(),
                    Some(schemas::string()),
                    Value::String(line),
                );
                // Kafka's task stamps each record with the time it read it.
                record.timestamp = Some(now);
                records.push(record);
            }
            self.buffer.drain(..consumed);
            consumed = 0;
            if records.len() >= self.batch_size {
                return Ok(records);
            }
            let Some(file) = self.file.as_mut() else {
                return Ok(records);
            };
            let len = self.buffer.len();
            self.buffer.resize(len + READ_CHUNK, 0);
            let read = file.read(&mut self.buffer[len..]);
            let n = *read.as_ref().unwrap_or(&0);
            self.buffer.truncate(len + n);
            read.map_err(|e| ConnectError::connect(format!("Error while reading from file: {e}")))?;
            if n == 0 {
                return Ok(records);
            }
        }
    }
}

/// A line's length in UTF-16 code units (Java's `String.length()`).
fn utf16_len(line: &str) -> u64 {
    if line.is_ascii() {
        line.len() as u64
    } else {
        line.encode_utf16().count() as u64
    }
}

/// The byte offset at which `units` UTF-16 code units of the file's text
/// end (or the end of the file, if it holds fewer). Invalid UTF-8 counts as
/// one unit per replaced sequence, as Java's decoder replaces it.
fn byte_offset_of_units(f: &mut File, units: u64) -> std::io::Result<u64> {
    f.seek(SeekFrom::Start(0))?;
    let mut reader = std::io::BufReader::with_capacity(READ_CHUNK, f);
    let (mut counted, mut byte) = (0u64, 0u64);
    let mut pending: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; READ_CHUNK];
    while counted < units {
        let n = reader.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        pending.extend_from_slice(&chunk[..n]);
        let mut i = 0;
        while i < pending.len() && counted < units {
            let (width, cost) = if pending[i] < 0x80 {
                (1, 1)
            } else {
                match utf8_char(&pending[i..]) {
                    Some(wc) => wc,
                    // A sequence cut by the chunk's end: read more first.
                    None => break,
                }
            };
            i += width;
            byte += width as u64;
            counted += cost;
        }
        pending.drain(..i);
    }
    Ok(byte)
}

/// The width in bytes and UTF-16 cost of the character starting `b`, or
/// `None` when `b` ends before the character does. An invalid byte is one
/// replaced character.
fn utf8_char(b: &[u8]) -> Option<(usize, u64)> {
    let width = match b[0] {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return Some((1, 1)),
    };
    if b.len() < width {
        return None;
    }
    match std::str::from_utf8(&b[..width]) {
        Ok(_) => Some((width, if width == 4 { 2 } else { 1 })),
        Err(_) => Some((1, 1)),
    }
}

#[async_trait]
impl SourceTask for FileStreamSourceTask {
    async fn start(&mut self, config: &Config, context: SourceTaskContext) -> ConnectResult<()> {
        self.path = config.get(FILE).filter(|f| !f.trim().is_empty()).cloned();
        self.topic = config.get(TOPIC).cloned().unwrap_or_default();
        self.batch_size = config
            .get(BATCH_SIZE)
            .and_then(|b| b.trim().parse().ok())
            .unwrap_or(2000);
        self.context = Some(context);
        Ok(())
    }

    async fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>> {
        // Reads are synchronous between awaits, so a cancelled poll never
        // loses bytes it read: the only await is the idle wait.
        if self.open()? {
            let records = self.read_lines()?;
            if !records.is_empty() {
                return Ok(records);
            }
        }
        tokio::time::sleep(IDLE_WAIT).await;
        Ok(Vec::new())
    }
}

/// Writes each record's value as a line.
#[derive(Default)]
pub struct FileStreamSinkTask {
    out: Option<BufWriter<Box<dyn Write + Send + Sync>>>,
    file: Option<File>,
}

#[async_trait]
impl SinkTask for FileStreamSinkTask {
    async fn start(&mut self, config: &Config, _context: SinkTaskContext) -> ConnectResult<()> {
        let writer: Box<dyn Write + Send + Sync> =
            match config.get(FILE).filter(|f| !f.trim().is_empty()) {
                None => Box::new(std::io::stdout()),
                Some(path) => {
                    let f = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .map_err(|e| {
                            ConnectError::connect(format!(
                                "Couldn't find or create file '{path}' for FileStreamSinkTask: {e}"
                            ))
                        })?;
                    self.file = f.try_clone().ok();
                    Box::new(f)
                }
            };
        self.out = Some(BufWriter::with_capacity(256 * 1024, writer));
        Ok(())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> ConnectResult<()> {
        let out = self
            .out
            .as_mut()
            .ok_or_else(|| ConnectError::connect("task not started"))?;
        let mut line = String::new();
        for r in records {
            // One write per whole line: the buffer is only ever flushed at a
            // line boundary, so a crash never leaves half a line behind.
            line.clear();
            std::fmt::Write::write_fmt(&mut line, format_args!("{}\n", r.value))
                .map_err(|e| ConnectError::connect(format!("cannot format record: {e}")))?;
            out.write_all(line.as_bytes())
                .map_err(|e| ConnectError::retriable(format!("write failed: {e}")))?;
        }
        // Hand the batch to the OS now, as Java's task does line by line:
        // readers of the file see records as they arrive, not at the next
        // offset commit (a 10 s commit interval held the last lines back
        // for up to 10 s in the Java comparison bench).
        out.flush()
            .map_err(|e| ConnectError::retriable(format!("write failed: {e}")))?;
        Ok(())
    }

    async fn flush(&mut self, _offsets: &SinkOffsets) -> ConnectResult<()> {
        if let Some(out) = self.out.as_mut() {
            out.flush()
                .map_err(|e| ConnectError::retriable(format!("flush failed: {e}")))?;
        }
        Ok(())
    }

    async fn stop(&mut self) {
        if let Some(out) = self.out.as_mut() {
            let _ = out.flush();
        }
        if let Some(f) = &self.file {
            let _ = f.sync_all();
        }
    }
}
