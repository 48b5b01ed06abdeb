//! The `connect` group protocol's bytes, as Kafka Connect's workers write
//! them (`ConnectProtocol` for `default`, V0, and
//! `IncrementalCooperativeConnectProtocol` for `compatible`, V1, and
//! `sessioned`, V2): the member metadata each worker sends in JoinGroup,
//! and the assignment the leader hands out in SyncGroup.
//!
//! Big-endian Kafka `Struct` fields: STRING is an i16 length and UTF-8,
//! ARRAY an i32 count (-1 for null), NULLABLE_BYTES an i32 length (-1 for
//! null). Decoders take bytes from other workers, possibly Java ones, so
//! they never panic and ignore trailing bytes, as Java's do.

use indexmap::IndexMap;
use rampart_core::herder::ConnectorTaskId;

use super::assignor::ConnectorsAndTasks;

/// The protocol names, most preferred first, and their versions.
pub const PROTOCOLS: [(&str, i16); 3] = [("sessioned", 2), ("compatible", 1), ("default", 0)];

/// `Assignment.NO_ERROR`.
pub const NO_ERROR: i16 = 0;
/// `Assignment.CONFIG_MISMATCH`: the leader's config is behind a member's.
pub const CONFIG_MISMATCH: i16 = 1;

// The task id Java writes for a connector instance in an assignment.
const CONNECTOR_TASK: i32 = -1;

/// Why bytes are not a valid protocol message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The bytes end inside a field.
    #[error("connect protocol message truncated reading {0}")]
    Truncated(&'static str),
    /// A string is not UTF-8.
    #[error("connect protocol string {0} is not UTF-8")]
    Utf8(&'static str),
    /// A length or count is negative where null is not allowed.
    #[error("connect protocol field {0} has an invalid length")]
    Length(&'static str),
    /// A version this worker does not know.
    #[error("unsupported connect protocol version {0}")]
    Version(i16),
}

/// A worker's JoinGroup metadata (`ExtendedWorkerState`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerState {
    /// The advertised REST URL, with a trailing `/`.
    pub url: String,
    /// The config topic position the worker has read to (-1: empty).
    pub config_offset: i64,
    /// What the worker runs now (V1, V2); `None` on a first join.
    pub allocation: Option<Assignment>,
}

/// A SyncGroup assignment (`ExtendedAssignment`; V0 has no revocations
/// and no delay).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// 0, 1 or 2.
    pub version: i16,
    /// [`NO_ERROR`] or [`CONFIG_MISMATCH`].
    pub error: i16,
    /// The leader's member id.
    pub leader: String,
    /// The leader's REST URL.
    pub leader_url: String,
    /// The config topic position the assignment was made at.
    pub config_offset: i64,
    /// Connectors and tasks to run (cooperative: newly assigned).
    pub assigned: ConnectorsAndTasks,
    /// Connectors and tasks to stop (V1, V2).
    pub revoked: ConnectorsAndTasks,
    /// Rejoin after this many milliseconds (V1, V2; 0: no).
    pub delay_ms: i32,
}

impl WorkerState {
    /// The metadata bytes for a protocol version (0, 1 or 2).
    pub fn encode(&self, version: i16) -> Vec<u8> {
        let mut w = Writer::default();
        w.i16(version);
        w.string(&self.url);
        w.i64(self.config_offset);
        if version >= 1 {
            match &self.allocation {
                Some(a) => w.bytes(&a.encode_as(version)),
                None => w.i32(-1),
            }
        }
        w.0
    }

    /// Reads metadata bytes of any version.
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        let mut r = Reader::new(bytes);
        let version = r.i16("version")?;
        if version < 0 {
            return Err(ProtocolError::Version(version));
        }
        let url = r.string("url")?;
        let config_offset = r.i64("config-offset")?;
        // V1 and later may still omit trailing fields: defaults apply.
        let allocation = if version >= 1 && !r.is_empty() {
            r.nullable_bytes("allocation")?
                .map(|b| Assignment::decode(&b))
                .transpose()?
        } else {
            None
        };
        Ok(WorkerState {
            url,
            config_offset,
            allocation,
        })
    }
}

impl Assignment {
    /// The assignment's bytes, in its own version.
    pub fn encode(&self) -> Vec<u8> {
        self.encode_as(self.version)
    }

    fn encode_as(&self, version: i16) -> Vec<u8> {
        let mut w = Writer::default();
        w.i16(version);
        w.i16(self.error);
        w.string(&self.leader);
        w.string(&self.leader_url);
        w.i64(self.config_offset);
        w.entries(&self.assigned);
        if version >= 1 {
            // Java writes an empty array, never null.
            w.entries(&self.revoked);
            w.i32(self.delay_ms);
        }
        w.0
    }

    /// Reads assignment bytes of any version.
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        let mut r = Reader::new(bytes);
        let version = r.i16("version")?;
        if version < 0 {
            return Err(ProtocolError::Version(version));
        }
        let error = r.i16("error")?;
        let leader = r.string("leader")?;
        let leader_url = r.string("leader-url")?;
        let config_offset = r.i64("config-offset")?;
        let assigned = r.entries("assignment")?;
        let (revoked, delay_ms) = if version >= 1 && !r.is_empty() {
            let revoked = r.entries("revoked")?;
            let delay = if r.is_empty() { 0 } else { r.i32("delay")? };
            (revoked, delay)
        } else {
            (ConnectorsAndTasks::default(), 0)
        };
        Ok(Assignment {
            version,
            error,
            leader,
            leader_url,
            config_offset,
            assigned,
            revoked,
            delay_ms,
        })
    }
}

#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn i16(&mut self, v: i16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    fn i32(&mut self, v: i32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    fn string(&mut self, s: &str) {
        // Member ids, URLs and connector names are far below 32 KiB; a
        // longer one is cut at Kafka's limit rather than wrapped.
        let len = s.len().min(i16::MAX as usize);
        self.i16(len as i16);
        self.0.extend_from_slice(&s.as_bytes()[..len]);
    }

    fn bytes(&mut self, b: &[u8]) {
        self.i32(b.len() as i32);
        self.0.extend_from_slice(b);
    }

    // Java groups by connector: each connector's own entry (-1) first, in
    // connector order, then its tasks, connectors first seen in task order.
    fn entries(&mut self, items: &ConnectorsAndTasks) {
        let mut by_connector: IndexMap<&str, Vec<i32>> = IndexMap::new();
        for c in &items.connectors {
            by_connector.entry(c).or_default().push(CONNECTOR_TASK);
        }
        for t in &items.tasks {
            by_connector
                .entry(&t.connector)
                .or_default()
                .push(t.task as i32);
        }
        self.i32(by_connector.len() as i32);
        for (connector, tasks) in by_connector {
            self.string(connector);
            self.i32(tasks.len() as i32);
            for t in tasks {
                self.i32(t);
            }
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }

    fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], ProtocolError> {
        if self.bytes.len() < n {
            return Err(ProtocolError::Truncated(field));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn i16(&mut self, field: &'static str) -> Result<i16, ProtocolError> {
        let b = self.take(2, field)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self, field: &'static str) -> Result<i32, ProtocolError> {
        let b = self.take(4, field)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn i64(&mut self, field: &'static str) -> Result<i64, ProtocolError> {
        let b = self.take(8, field)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }

    fn string(&mut self, field: &'static str) -> Result<String, ProtocolError> {
        let len = self.i16(field)?;
        let len = usize::try_from(len).map_err(|_| ProtocolError::Length(field))?;
        let b = self.take(len, field)?;
        String::from_utf8(b.to_vec()).map_err(|_| ProtocolError::Utf8(field))
    }

    fn nullable_bytes(&mut self, field: &'static str) -> Result<Option<Vec<u8>>, ProtocolError> {
        let len = self.i32(field)?;
        if len < 0 {
            return Ok(None);
        }
        Ok(Some(self.take(len as usize, field)?.to_vec()))
    }

    fn entries(&mut self, field: &'static str) -> Result<ConnectorsAndTasks, ProtocolError> {
        let mut out = ConnectorsAndTasks::default();
        let count = self.i32(field)?;
        // A null array reads as empty.
        for _ in 0..count.max(0) {
            let connector = self.string(field)?;
            let tasks = self.i32(field)?;
            for _ in 0..tasks.max(0) {
                let id = self.i32(field)?;
                if id == CONNECTOR_TASK {
                    out.connectors.insert(connector.clone());
                } else {
                    let task = u32::try_from(id).map_err(|_| ProtocolError::Length(field))?;
                    out.tasks.insert(ConnectorTaskId {
                        connector: connector.clone(),
                        task,
                    });
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn with_str(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    const URL: &str = "http://10.0.0.1:8083/";

    #[test]
    fn worker_state_v2_first_join_is_javas_bytes() {
        // distributed.md §1, read off a probe: no allocation yet.
        let expected = with_str(&[
            &hex("0002 0015"),
            URL.as_bytes(),
            &hex("0000000000000007 ffffffff"),
        ]);
        let state = WorkerState {
            url: URL.into(),
            config_offset: 7,
            allocation: None,
        };
        assert_eq!(state.encode(2), expected);
        assert_eq!(WorkerState::decode(&expected).unwrap(), state);
    }

    #[test]
    fn assignment_v2_is_javas_87_bytes() {
        let expected = with_str(&[
            &hex("0002 0000 000d"),
            b"connect-1-abc",
            &hex("0015"),
            URL.as_bytes(),
            &hex("0000000000000007 00000001 000b"),
            b"file-source",
            &hex("00000002 ffffffff 00000000 00000000 00000000"),
        ]);
        assert_eq!(expected.len(), 87);
        let mut assigned = ConnectorsAndTasks::default();
        assigned.connectors.insert("file-source".into());
        assigned.tasks.insert(ConnectorTaskId {
            connector: "file-source".into(),
            task: 0,
        });
        let a = Assignment {
            version: 2,
            error: NO_ERROR,
            leader: "connect-1-abc".into(),
            leader_url: URL.into(),
            config_offset: 7,
            assigned,
            revoked: ConnectorsAndTasks::default(),
            delay_ms: 0,
        };
        assert_eq!(a.encode(), expected);
        assert_eq!(Assignment::decode(&expected).unwrap(), a);
    }

    #[test]
    fn v0_has_no_revocations_or_delay_and_v1_metadata_carries_the_allocation() {
        let mut assigned = ConnectorsAndTasks::default();
        assigned.tasks.insert(ConnectorTaskId {
            connector: "b".into(),
            task: 3,
        });
        assigned.connectors.insert("a".into());
        let mut a = Assignment {
            version: 0,
            error: CONFIG_MISMATCH,
            leader: "l".into(),
            leader_url: "u".into(),
            config_offset: -1,
            assigned,
            revoked: ConnectorsAndTasks::default(),
            delay_ms: 0,
        };
        let v0 = a.encode();
        assert_eq!(Assignment::decode(&v0).unwrap(), a);
        a.version = 1;
        a.delay_ms = 40;
        a.revoked.connectors.insert("c".into());
        let v1 = a.encode();
        assert_eq!(v1.len(), v0.len() + 4 + 2 + 1 + 4 + 4 + 4);
        let state = WorkerState {
            url: "u".into(),
            config_offset: 3,
            allocation: Some(a.clone()),
        };
        assert_eq!(WorkerState::decode(&state.encode(1)).unwrap(), state);
        // V0 metadata is url and offset only.
        let v0_state = WorkerState::decode(&state.encode(0)).unwrap();
        assert_eq!(v0_state.allocation, None);
    }

    #[test]
    fn truncated_or_garbage_bytes_are_errors_not_panics() {
        let good = WorkerState {
            url: URL.into(),
            config_offset: 1,
            allocation: None,
        }
        .encode(2);
        for n in 0..good.len() - 4 {
            assert!(WorkerState::decode(&good[..n]).is_err(), "prefix {n}");
        }
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 64) as usize;
            let bytes: Vec<u8> = (0..len).map(|i| (seed >> (i % 56)) as u8).collect();
            let _ = WorkerState::decode(&bytes);
            let _ = Assignment::decode(&bytes);
        }
        assert_eq!(
            Assignment::decode(&hex("ffff")).unwrap_err(),
            ProtocolError::Version(-1)
        );
    }
}
