//! The source task: owns its listener, and hands buffered records to the
//! framework in batches.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use async_trait::async_trait;
use rampart_core::connector::{Config, RecordCommitter, SourceTask, SourceTaskContext};
use rampart_core::record::SourceRecord;
use rampart_core::{ConnectError, ConnectResult};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::info;

use crate::config::{SyslogConfig, Transport};
use crate::listener::{self, Bound, Buffer, Ingest, ListenerStats, Recorder};
use crate::relp::RelpAcks;

/// Reads syslog messages from one socket bound by this task.
#[derive(Default)]
pub struct SyslogSourceTask {
    config: Option<Arc<SyslogConfig>>,
    rx: Option<Buffer>,
    recorder: Option<Recorder>,
    listener: Option<JoinHandle<ConnectResult<()>>>,
    stats: Arc<ListenerStats>,
    shutdown: Option<watch::Sender<bool>>,
    fatal: Arc<std::sync::Mutex<Option<ConnectError>>>,
    relp: Option<Arc<RelpAcks>>,
}

impl SyslogSourceTask {
    /// The listener's counters.
    pub fn stats(&self) -> Arc<ListenerStats> {
        self.stats.clone()
    }

    // The listener only ends on a socket error (or when the task stops).
    async fn listener_error(&mut self) -> ConnectError {
        match self.listener.take() {
            Some(h) => match h.await {
                Ok(Err(e)) => e,
                Ok(Ok(())) => ConnectError::connect("syslog listener stopped"),
                Err(e) => ConnectError::connect(format!("syslog listener failed: {e}")),
            },
            None => ConnectError::connect("syslog listener is not running"),
        }
    }
}

#[async_trait]
impl SourceTask for SyslogSourceTask {
    async fn start(&mut self, config: &Config, _context: SourceTaskContext) -> ConnectResult<()> {
        let config = Arc::new(SyslogConfig::parse(config)?);
        let tls = match (&config.transport, &config.tls) {
            (Transport::TcpSsl, Some((cert, key, ca))) => {
                Some(crate::tls::acceptor(cert, key, ca.as_deref())?)
            }
            _ => None,
        };
        let bound = listener::bind(&config)?;
        let (rx, tx, room) = Buffer::new(config.queue_max, config.queue_max_bytes);
        let (shutdown, shutdown_rx) = watch::channel(false);
        self.shutdown = Some(shutdown);
        let listener_name: Arc<str> = config.listener_name().into();
        let ingest = Ingest {
            tx,
            room,
            config: config.clone(),
            stats: self.stats.clone(),
            listener: listener_name.clone(),
            shutdown: shutdown_rx,
        };
        self.relp = (config.transport == Transport::Relp).then(Arc::default);
        self.recorder = Some(Recorder {
            config: config.clone(),
            stats: self.stats.clone(),
            listener: listener_name,
            fatal: self.fatal.clone(),
            relp: self.relp.clone(),
        });
        self.listener = Some(match bound {
            Bound::Udp(socket) => tokio::spawn(listener::run_udp(socket, ingest)),
            Bound::Tcp(l) => tokio::spawn(listener::run_tcp(l, tls, ingest)),
        });
        info!(listener = %config.listener_name(), topic = %config.topic, "syslog listener started");
        self.rx = Some(rx);
        self.config = Some(config);
        Ok(())
    }

    async fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>> {
        let (Some(rx), Some(config), Some(recorder)) = (
            self.rx.as_mut(),
            self.config.clone(),
            self.recorder.as_ref(),
        ) else {
            return Err(ConnectError::connect("task not started"));
        };
        if let Some(e) = self.fatal.lock().ok().and_then(|mut f| f.take()) {
            return Err(e);
        }
        // `recv` is cancel-safe: a poll cancelled while waiting loses nothing.
        let first = match tokio::time::timeout(config.backoff, rx.recv()).await {
            Ok(Some(r)) => r,
            Ok(None) => return Err(self.listener_error().await),
            Err(_) => return Ok(Vec::new()),
        };
        let mut batch = Vec::with_capacity(config.batch.min(1024));
        let mut taken = first.len();
        recorder.record(&first, &mut batch);
        while taken < config.batch {
            let Some(m) = rx.try_recv() else { break };
            taken += m.len();
            recorder.record(&m, &mut batch);
        }
        Ok(batch)
    }

    fn metrics(&self) -> Option<Arc<dyn rampart_core::connector::ConnectorMetrics>> {
        Some(self.stats.clone())
    }

    fn committer(&self) -> Option<Arc<dyn RecordCommitter>> {
        self.relp.clone().map(|r| r as Arc<dyn RecordCommitter>)
    }

    // Stops reading sockets, then hands over everything already parsed:
    // the channel closes once every reader has dropped its sender.
    async fn drain(&mut self) -> ConnectResult<Vec<SourceRecord>> {
        if let Some(shutdown) = &self.shutdown {
            let _ = shutdown.send(true);
        }
        let mut records = Vec::new();
        if let (Some(rx), Some(recorder)) = (self.rx.as_mut(), self.recorder.as_ref()) {
            while let Some(m) = rx.recv().await {
                recorder.record(&m, &mut records);
            }
        }
        Ok(records)
    }

    async fn stop(&mut self) {
        if let Some(h) = self.listener.take() {
            h.abort();
        }
        if let Some(config) = &self.config {
            let s = &self.stats;
            info!(
                listener = %config.listener_name(),
                received = s.received.load(Ordering::Relaxed),
                udp_dropped = s.udp_dropped.load(Ordering::Relaxed),
                truncated = s.truncated.load(Ordering::Relaxed),
                oversize_rejected = s.oversize_rejected.load(Ordering::Relaxed),
                parse_rejected = s.parse_rejected.load(Ordering::Relaxed),
                "syslog listener stopped"
            );
        }
    }
}
