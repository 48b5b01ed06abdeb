//! A member of a group on the Kafka cluster's group coordinator, with a
//! protocol of its own: the classic JoinGroup, SyncGroup, Heartbeat and
//! LeaveGroup exchange that Connect workers run with protocol type
//! `connect`. librdkafka only runs the consumer protocol, so this speaks
//! the wire protocol itself, with the `kafka-protocol` crate's messages.
//!
//! Connections use the data clients' TLS and SASL settings
//! (`group_security`).

use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    find_coordinator_request::FindCoordinatorRequest,
    heartbeat_request::HeartbeatRequest,
    join_group_request::{JoinGroupRequest, JoinGroupRequestProtocol},
    leave_group_request::{LeaveGroupRequest, MemberIdentity},
    sync_group_request::{SyncGroupRequest, SyncGroupRequestAssignment},
    GroupId, RequestHeader, ResponseHeader,
};
use kafka_protocol::messages::{
    ApiKey, FindCoordinatorResponse, HeartbeatResponse, JoinGroupResponse, LeaveGroupResponse,
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
    SyncGroupResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::group_security::{GroupSecurity, Sasl, Scram};
use crate::metrics::{ClientStats, CoordinatorStats};

/// A plain or TLS connection.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send + Sync {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> Stream for T {}

// Versions every broker from Kafka 2.3 to 4.x serves; none is flexible
// except FindCoordinator v3, which the crate encodes.
const FIND_COORDINATOR_VERSION: i16 = 3;
const JOIN_GROUP_VERSION: i16 = 5;
const SYNC_GROUP_VERSION: i16 = 3;
const HEARTBEAT_VERSION: i16 = 3;
const LEAVE_GROUP_VERSION: i16 = 3;
const SASL_HANDSHAKE_VERSION: i16 = 1;
const SASL_AUTHENTICATE_VERSION: i16 = 2;

// Kafka error codes the member acts on.
const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
const COORDINATOR_NOT_AVAILABLE: i16 = 15;
const NOT_COORDINATOR: i16 = 16;
const ILLEGAL_GENERATION: i16 = 22;
const UNKNOWN_MEMBER_ID: i16 = 25;
const REBALANCE_IN_PROGRESS: i16 = 27;
const MEMBER_ID_REQUIRED: i16 = 79;

// Join attempts before a retriable error is returned (about 5 s of pauses).
const MAX_JOIN_ATTEMPTS: u64 = 12;

// A response larger than this is refused rather than buffered: a JoinGroup
// answer for a thousand workers is well under a megabyte.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Why a group call failed. `is_retriable` says whether trying again (after
/// finding the coordinator again, or rejoining) can succeed.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    /// The network: connect, read or write.
    #[error("cannot talk to {addr}: {source}")]
    Io {
        /// The broker.
        addr: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// No answer in time.
    #[error("{api} to {addr} timed out")]
    Timeout {
        /// The request.
        api: &'static str,
        /// The broker.
        addr: String,
    },
    /// Bytes that do not decode as the expected response.
    #[error("malformed {api} response: {reason}")]
    Protocol {
        /// The request.
        api: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The group is rebalancing, or this member's generation is over:
    /// rejoin.
    #[error("the group is rebalancing (Kafka error {code})")]
    Rebalance {
        /// The Kafka error code.
        code: i16,
    },
    /// Any other error code from the coordinator.
    #[error("{api} failed with Kafka error {code}")]
    Kafka {
        /// The request.
        api: &'static str,
        /// The Kafka error code.
        code: i16,
    },
    /// No bootstrap server could tell us the coordinator.
    #[error("no broker answered: {0}")]
    NoCoordinator(String),
    /// The TLS handshake or SASL authentication failed: the settings are
    /// wrong, and retrying will not help.
    #[error("cannot connect to {addr}: {reason}")]
    Authentication {
        /// The broker.
        addr: String,
        /// Why.
        reason: String,
    },
}

impl GroupError {
    /// Whether the call may succeed when tried again.
    pub fn is_retriable(&self) -> bool {
        match self {
            GroupError::Io { .. }
            | GroupError::Timeout { .. }
            | GroupError::Rebalance { .. }
            | GroupError::NoCoordinator(_) => true,
            GroupError::Kafka { code, .. } => matches!(
                *code,
                COORDINATOR_LOAD_IN_PROGRESS | COORDINATOR_NOT_AVAILABLE | NOT_COORDINATOR
            ),
            GroupError::Protocol { .. } | GroupError::Authentication { .. } => false,
        }
    }
}

/// One connection to a broker, with correlated requests.
struct Connection {
    stream: Box<dyn Stream>,
    addr: String,
    correlation: i32,
    client_id: StrBytes,
    stats: Arc<ClientStats>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.stats.connection_closed();
    }
}

impl Connection {
    async fn connect(
        addr: &str,
        client_id: &str,
        timeout: Duration,
        security: &GroupSecurity,
        stats: &Arc<ClientStats>,
    ) -> Result<Self, GroupError> {
        let tcp = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| GroupError::Timeout {
                api: "connect",
                addr: addr.to_string(),
            })?
            .map_err(|source| GroupError::Io {
                addr: addr.to_string(),
                source,
            })?;
        let _ = tcp.set_nodelay(true);
        let auth = |reason: String| GroupError::Authentication {
            addr: addr.to_string(),
            reason,
        };
        let stream: Box<dyn Stream> = match &security.tls {
            None => Box::new(tcp),
            Some(tls) => {
                let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
                let name = tokio_rustls::rustls::pki_types::ServerName::try_from(
                    host.trim_start_matches('[')
                        .trim_end_matches(']')
                        .to_string(),
                )
                .map_err(|e| auth(format!("invalid broker host name {host}: {e}")))?;
                let connector = tokio_rustls::TlsConnector::from(tls.clone());
                let tls = tokio::time::timeout(timeout, connector.connect(name, tcp))
                    .await
                    .map_err(|_| GroupError::Timeout {
                        api: "TLS handshake",
                        addr: addr.to_string(),
                    })?
                    .map_err(|e| auth(format!("TLS handshake failed: {e}")))?;
                Box::new(tls)
            }
        };
        stats.connection_opened();
        let mut conn = Connection {
            stream,
            addr: addr.to_string(),
            correlation: 0,
            client_id: StrBytes::from_string(client_id.to_string()),
            stats: stats.clone(),
        };
        if let Some(sasl) = &security.sasl {
            let authenticated = conn.authenticate(sasl, timeout).await;
            if authenticated.is_err() {
                stats.authentication_failed();
            }
            authenticated.map_err(|e| match e {
                GroupError::Kafka { code, .. } => auth(format!(
                    "SASL {} refused with Kafka error {code}",
                    sasl.mechanism()
                )),
                other => other,
            })?;
        }
        stats.authenticated();
        Ok(conn)
    }

    // KIP-152: SaslHandshake names the mechanism, then SaslAuthenticate
    // carries its messages.
    async fn authenticate(&mut self, sasl: &Sasl, timeout: Duration) -> Result<(), GroupError> {
        let addr = self.addr.clone();
        let auth = |reason: String| GroupError::Authentication {
            addr: addr.clone(),
            reason,
        };
        let handshake = SaslHandshakeRequest::default()
            .with_mechanism(StrBytes::from_string(sasl.mechanism().to_string()));
        let r: SaslHandshakeResponse = self
            .call(
                ApiKey::SaslHandshake,
                &handshake,
                SASL_HANDSHAKE_VERSION,
                timeout,
            )
            .await?;
        if r.error_code != 0 {
            return Err(auth(format!(
                "the broker does not offer SASL {} (Kafka error {})",
                sasl.mechanism(),
                r.error_code
            )));
        }
        match sasl {
            Sasl::Plain { user, password } => {
                self.sasl_round(format!("\0{user}\0{password}").into_bytes(), timeout)
                    .await
                    .map_err(auth)?;
            }
            Sasl::Scram {
                sha512,
                user,
                password,
            } => {
                let (mut scram, first) = Scram::start(*sha512, user, password).map_err(auth)?;
                let server_first = self.sasl_round(first, timeout).await.map_err(auth)?;
                let last = scram.client_final(&server_first).map_err(auth)?;
                let server_final = self.sasl_round(last, timeout).await.map_err(auth)?;
                scram.verify(&server_final).map_err(auth)?;
            }
        }
        Ok(())
    }

    async fn sasl_round(&mut self, bytes: Vec<u8>, timeout: Duration) -> Result<Vec<u8>, String> {
        let request = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(bytes));
        let r: SaslAuthenticateResponse = self
            .call(
                ApiKey::SaslAuthenticate,
                &request,
                SASL_AUTHENTICATE_VERSION,
                timeout,
            )
            .await
            .map_err(|e| e.to_string())?;
        if r.error_code != 0 {
            return Err(format!(
                "SASL authentication failed: {}",
                r.error_message
                    .map(|m| m.to_string())
                    .unwrap_or_else(|| format!("Kafka error {}", r.error_code))
            ));
        }
        Ok(r.auth_bytes.to_vec())
    }

    async fn call<Req, Resp>(
        &mut self,
        key: ApiKey,
        request: &Req,
        version: i16,
        timeout: Duration,
    ) -> Result<Resp, GroupError>
    where
        Req: Encodable + HeaderVersion,
        Resp: Decodable + HeaderVersion,
    {
        let api = api_name(key);
        let malformed = |reason: String| GroupError::Protocol { api, reason };
        self.correlation = self.correlation.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(self.client_id.clone()));
        let mut body = BytesMut::new();
        header
            .encode(&mut body, Req::header_version(version))
            .and_then(|_| request.encode(&mut body, version))
            .map_err(|e| malformed(format!("cannot encode: {e}")))?;
        let mut frame = BytesMut::with_capacity(body.len() + 4);
        frame.put_i32(body.len() as i32);
        frame.extend_from_slice(&body);
        let addr = self.addr.clone();
        let began = std::time::Instant::now();
        let mut received = 0;
        let exchange = async {
            self.stream.write_all(&frame).await?;
            let len = self.stream.read_i32().await?;
            let len = usize::try_from(len)
                .ok()
                .filter(|l| *l <= MAX_RESPONSE_BYTES)
                .ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, "bad response length")
                })?;
            let mut buf = vec![0u8; len];
            self.stream.read_exact(&mut buf).await?;
            received = len + 4;
            Ok::<_, std::io::Error>(buf)
        };
        let answer = tokio::time::timeout(timeout, exchange).await;
        self.stats.exchange(frame.len(), received, began.elapsed());
        let buf = answer
            .map_err(|_| GroupError::Timeout {
                api,
                addr: addr.clone(),
            })?
            .map_err(|source| GroupError::Io { addr, source })?;
        let mut buf = Bytes::from(buf);
        let header = ResponseHeader::decode(&mut buf, Resp::header_version(version))
            .map_err(|e| malformed(e.to_string()))?;
        if header.correlation_id != self.correlation {
            return Err(malformed(format!(
                "correlation id {} for request {}",
                header.correlation_id, self.correlation
            )));
        }
        let response = Resp::decode(&mut buf, version).map_err(|e| malformed(e.to_string()))?;
        if buf.has_remaining() {
            tracing::debug!(api, extra = buf.remaining(), "response has trailing bytes");
        }
        Ok(response)
    }
}

fn api_name(key: ApiKey) -> &'static str {
    match key {
        ApiKey::FindCoordinator => "FindCoordinator",
        ApiKey::JoinGroup => "JoinGroup",
        ApiKey::SyncGroup => "SyncGroup",
        ApiKey::Heartbeat => "Heartbeat",
        ApiKey::LeaveGroup => "LeaveGroup",
        ApiKey::SaslHandshake => "SaslHandshake",
        ApiKey::SaslAuthenticate => "SaslAuthenticate",
        _ => "request",
    }
}

/// How the member joins.
#[derive(Debug, Clone)]
pub struct GroupSettings {
    /// `host:port` of brokers to ask for the coordinator.
    pub bootstrap: Vec<String>,
    /// `group.id`.
    pub group_id: String,
    /// The protocol type: `connect` for workers.
    pub protocol_type: String,
    /// `session.timeout.ms`.
    pub session_timeout: Duration,
    /// `rebalance.timeout.ms`: how long a join may wait for the others.
    pub rebalance_timeout: Duration,
    /// Timeout of the other requests.
    pub request_timeout: Duration,
    /// The client id the broker sees.
    pub client_id: String,
    /// TLS and SASL, as the data clients use them.
    pub security: GroupSecurity,
    /// `connect-metrics` and `connect-coordinator-metrics`.
    pub metrics: GroupMetrics,
}

/// Where the member counts its network use and group requests.
#[derive(Debug, Clone)]
pub struct GroupMetrics {
    /// The connection's `Selector`-style metrics.
    pub network: Arc<ClientStats>,
    /// Joins, syncs, heartbeats and the assignment's size.
    pub coordinator: Arc<CoordinatorStats>,
}

impl Default for GroupMetrics {
    /// Metrics nobody reads (a member outside a worker).
    fn default() -> Self {
        GroupMetrics {
            network: Arc::new(ClientStats::new(Default::default())),
            coordinator: Arc::new(CoordinatorStats::new(Default::default())),
        }
    }
}

/// The outcome of a join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    /// The group generation.
    pub generation: i32,
    /// This member's id.
    pub member_id: String,
    /// The leader's member id.
    pub leader: String,
    /// The protocol the coordinator chose.
    pub protocol: String,
    /// Every member's id and metadata; only the leader gets them.
    pub members: Vec<(String, Vec<u8>)>,
}

impl Joined {
    /// Whether this member leads this generation.
    pub fn is_leader(&self) -> bool {
        self.leader == self.member_id
    }
}

/// One member of a group.
pub struct GroupMember {
    settings: GroupSettings,
    coordinator: Option<Connection>,
    member_id: String,
    generation: i32,
}

impl GroupMember {
    /// A member that has not joined yet.
    pub fn new(settings: GroupSettings) -> Self {
        GroupMember {
            settings,
            coordinator: None,
            member_id: String::new(),
            generation: -1,
        }
    }

    /// This member's id (empty before the first join).
    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    fn group_id(&self) -> GroupId {
        GroupId(StrBytes::from_string(self.settings.group_id.clone()))
    }

    async fn coordinator(&mut self) -> Result<&mut Connection, GroupError> {
        if self.coordinator.is_none() {
            let conn = self.find_coordinator().await?;
            self.coordinator = Some(conn);
        }
        self.coordinator
            .as_mut()
            .ok_or_else(|| GroupError::NoCoordinator("no coordinator".into()))
    }

    async fn find_coordinator(&self) -> Result<Connection, GroupError> {
        let timeout = self.settings.request_timeout;
        let mut last = String::from("no bootstrap servers");
        for addr in &self.settings.bootstrap {
            let connected = Connection::connect(
                addr,
                &self.settings.client_id,
                timeout,
                &self.settings.security,
                &self.settings.metrics.network,
            )
            .await;
            let mut conn = match connected {
                Ok(c) => c,
                // Wrong credentials or certificates will not get better
                // on another broker.
                Err(e @ GroupError::Authentication { .. }) => return Err(e),
                Err(e) => {
                    last = e.to_string();
                    continue;
                }
            };
            let request = FindCoordinatorRequest::default()
                .with_key(StrBytes::from_string(self.settings.group_id.clone()))
                .with_key_type(0);
            let answer: Result<FindCoordinatorResponse, _> = conn
                .call(
                    ApiKey::FindCoordinator,
                    &request,
                    FIND_COORDINATOR_VERSION,
                    timeout,
                )
                .await;
            match answer {
                Ok(r) if r.error_code == 0 => {
                    let target = format!("{}:{}", r.host.as_str(), r.port);
                    return Connection::connect(
                        &target,
                        &self.settings.client_id,
                        timeout,
                        &self.settings.security,
                        &self.settings.metrics.network,
                    )
                    .await;
                }
                Ok(r) => last = format!("FindCoordinator answered Kafka error {}", r.error_code),
                Err(e) => last = e.to_string(),
            }
        }
        Err(GroupError::NoCoordinator(last))
    }

    // A coordinator that moved or went away is looked up again on the
    // next call.
    fn check(&mut self, api: &'static str, code: i16) -> Result<(), GroupError> {
        match code {
            0 => Ok(()),
            NOT_COORDINATOR | COORDINATOR_NOT_AVAILABLE | COORDINATOR_LOAD_IN_PROGRESS => {
                self.coordinator = None;
                Err(GroupError::Kafka { api, code })
            }
            REBALANCE_IN_PROGRESS | ILLEGAL_GENERATION => Err(GroupError::Rebalance { code }),
            UNKNOWN_MEMBER_ID => {
                self.member_id.clear();
                Err(GroupError::Rebalance { code })
            }
            _ => Err(GroupError::Kafka { api, code }),
        }
    }

    // One request to the coordinator, found first if need be; a broken or
    // silent connection is dropped, so the next call finds it again.
    async fn coordinator_call<Req, Resp>(
        &mut self,
        key: ApiKey,
        request: &Req,
        version: i16,
        timeout: Duration,
    ) -> Result<Resp, GroupError>
    where
        Req: Encodable + HeaderVersion,
        Resp: Decodable + HeaderVersion,
    {
        let result = match self.coordinator().await {
            Ok(conn) => conn.call(key, request, version, timeout).await,
            Err(e) => Err(e),
        };
        self.drop_connection_on_io(result)
    }

    fn drop_connection_on_io<T>(&mut self, r: Result<T, GroupError>) -> Result<T, GroupError> {
        if matches!(r, Err(GroupError::Io { .. } | GroupError::Timeout { .. })) {
            self.coordinator = None;
        }
        r
    }

    /// Joins (or rejoins) the group offering `protocols` (name and
    /// metadata, most preferred first), and waits for the generation.
    pub async fn join(&mut self, protocols: &[(&str, Vec<u8>)]) -> Result<Joined, GroupError> {
        // Kafka (KIP-394) answers a first join with MEMBER_ID_REQUIRED and
        // the id to use. A coordinator that is not ready (a new cluster
        // creates __consumer_offsets on first use) or moved is asked again,
        // with a growing pause, for a bounded number of attempts.
        let mut attempts = 0;
        let mut pause = Duration::ZERO;
        loop {
            attempts += 1;
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            pause = Duration::from_millis(100 * attempts.min(10));
            let request = JoinGroupRequest::default()
                .with_group_id(self.group_id())
                .with_session_timeout_ms(self.settings.session_timeout.as_millis() as i32)
                .with_rebalance_timeout_ms(self.settings.rebalance_timeout.as_millis() as i32)
                .with_member_id(StrBytes::from_string(self.member_id.clone()))
                .with_protocol_type(StrBytes::from_string(self.settings.protocol_type.clone()))
                .with_protocols(
                    protocols
                        .iter()
                        .map(|(name, metadata)| {
                            JoinGroupRequestProtocol::default()
                                .with_name(StrBytes::from_string(name.to_string()))
                                .with_metadata(Bytes::from(metadata.clone()))
                        })
                        .collect(),
                );
            // A join waits for every member to join: up to the rebalance timeout.
            let timeout = self.settings.rebalance_timeout + self.settings.request_timeout;
            let began = std::time::Instant::now();
            let result: Result<JoinGroupResponse, _> = self
                .coordinator_call(ApiKey::JoinGroup, &request, JOIN_GROUP_VERSION, timeout)
                .await;
            let response = match result {
                Ok(r) => r,
                Err(e) if e.is_retriable() && attempts < MAX_JOIN_ATTEMPTS => continue,
                Err(e) => return Err(e),
            };
            if response.error_code == MEMBER_ID_REQUIRED && attempts < MAX_JOIN_ATTEMPTS {
                // Not an error: rejoin at once with the id given.
                self.member_id = response.member_id.to_string();
                pause = Duration::ZERO;
                continue;
            }
            match self.check("JoinGroup", response.error_code) {
                Ok(()) => {}
                Err(e) if e.is_retriable() && attempts < MAX_JOIN_ATTEMPTS => continue,
                Err(e) => return Err(e),
            }
            self.member_id = response.member_id.to_string();
            self.generation = response.generation_id;
            self.settings.metrics.coordinator.joined(began.elapsed());
            return Ok(Joined {
                generation: response.generation_id,
                member_id: self.member_id.clone(),
                leader: response.leader.to_string(),
                protocol: response
                    .protocol_name
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
                members: response
                    .members
                    .into_iter()
                    .map(|m| (m.member_id.to_string(), m.metadata.to_vec()))
                    .collect(),
            });
        }
    }

    /// Completes the generation: the leader passes every member's
    /// assignment, the others nothing. Returns this member's assignment.
    pub async fn sync(
        &mut self,
        assignments: Vec<(String, Vec<u8>)>,
    ) -> Result<Vec<u8>, GroupError> {
        let request = SyncGroupRequest::default()
            .with_group_id(self.group_id())
            .with_generation_id(self.generation)
            .with_member_id(StrBytes::from_string(self.member_id.clone()))
            .with_assignments(
                assignments
                    .into_iter()
                    .map(|(member, bytes)| {
                        SyncGroupRequestAssignment::default()
                            .with_member_id(StrBytes::from_string(member))
                            .with_assignment(Bytes::from(bytes))
                    })
                    .collect(),
            );
        // Followers wait for the leader's sync.
        let timeout = self.settings.rebalance_timeout + self.settings.request_timeout;
        let began = std::time::Instant::now();
        let response: SyncGroupResponse = self
            .coordinator_call(ApiKey::SyncGroup, &request, SYNC_GROUP_VERSION, timeout)
            .await?;
        self.check("SyncGroup", response.error_code)?;
        self.settings.metrics.coordinator.synced(began.elapsed());
        Ok(response.assignment.to_vec())
    }

    /// Tells the coordinator this member is alive. `Err(Rebalance)` means
    /// the group is rebalancing: rejoin.
    pub async fn heartbeat(&mut self) -> Result<(), GroupError> {
        let request = HeartbeatRequest::default()
            .with_group_id(self.group_id())
            .with_generation_id(self.generation)
            .with_member_id(StrBytes::from_string(self.member_id.clone()));
        let timeout = self.settings.request_timeout;
        let response: HeartbeatResponse = self
            .coordinator_call(ApiKey::Heartbeat, &request, HEARTBEAT_VERSION, timeout)
            .await?;
        self.check("Heartbeat", response.error_code)?;
        self.settings.metrics.coordinator.heartbeat();
        Ok(())
    }

    /// Leaves the group, so the others rebalance at once instead of
    /// waiting out this member's session.
    pub async fn leave(&mut self) -> Result<(), GroupError> {
        if self.member_id.is_empty() {
            return Ok(());
        }
        let request = LeaveGroupRequest::default()
            .with_group_id(self.group_id())
            .with_members(vec![MemberIdentity::default()
                .with_member_id(StrBytes::from_string(self.member_id.clone()))]);
        let timeout = self.settings.request_timeout;
        let response: LeaveGroupResponse = self
            .coordinator_call(ApiKey::LeaveGroup, &request, LEAVE_GROUP_VERSION, timeout)
            .await?;
        self.member_id.clear();
        self.generation = -1;
        self.check("LeaveGroup", response.error_code)
    }
}
