//! The distributed herder: workers in one `connect` group on the Kafka
//! cluster share connectors and tasks. Configs, offsets and statuses live
//! in the three internal topics in Java's formats; the group coordinator
//! elects a leader, which assigns work and alone writes connector and task
//! configs. Requests another worker must serve are answered with
//! [`ConnectError::RequestTarget`], which the REST layer forwards.

mod member;
mod metrics;
mod rest;
mod work;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rampart_core::herder::{ConnectorConfig, TargetState};
use rampart_core::{ConnectError, ConnectResult};
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use tokio::sync::{watch, Notify};
use tracing::info;

use crate::distributed::assignor::ConnectorsAndTasks;
use crate::distributed::config::DistributedConfig;
use crate::distributed::config_state::ClusterConfigState;
use crate::distributed::config_topic::ConfigTopic;
use crate::distributed::group::{GroupMember, GroupMetrics, GroupSettings};
use crate::distributed::group_security::GroupSecurity;
use crate::distributed::internal_topics::{self, InternalTopic};
use crate::distributed::offset_store::KafkaOffsetBackingStore;
use crate::distributed::status_store::KafkaStatusBackingStore;
use crate::kafka;
use crate::kafka::errors::kafka_error;
use crate::metrics::ClientKind;
use crate::plugins::Plugins;
use crate::worker::Worker;
use crate::worker_config::WorkerConfig;

pub use metrics::RebalanceMetrics;

/// What this worker knows of the group, as of its last rebalance.
#[derive(Debug, Default, Clone)]
pub(crate) struct ClusterView {
    /// At least one rebalance completed.
    pub(crate) joined: bool,
    pub(crate) generation: i32,
    pub(crate) member_id: String,
    pub(crate) leader_id: String,
    /// The leader's REST URL; `None` while a rebalance is under way.
    pub(crate) leader_url: Option<String>,
    /// The protocol version agreed: 2 (`sessioned`) signs requests.
    pub(crate) protocol_version: i16,
    /// What this worker was assigned.
    pub(crate) owned: ConnectorsAndTasks,
    /// The leader's view: each member's URL and assignment.
    pub(crate) members: BTreeMap<String, (String, ConnectorsAndTasks)>,
    /// Why the group cannot be reached, while it cannot.
    pub(crate) problem: Option<String>,
}

impl ClusterView {
    fn is_leader(&self) -> bool {
        self.joined && !self.member_id.is_empty() && self.member_id == self.leader_id
    }

    /// The URL of the member the leader assigned `pred` to.
    fn owner_url(&self, pred: impl Fn(&ConnectorsAndTasks) -> bool) -> Option<String> {
        self.members
            .values()
            .find(|(_, a)| pred(a))
            .map(|(url, _)| url.clone())
    }
}

/// The distributed herder.
pub struct DistributedHerder {
    // For work spawned off the herder (publishing task configs).
    me: std::sync::Weak<DistributedHerder>,
    worker: Arc<Worker>,
    configs: Arc<ConfigTopic>,
    statuses: Arc<KafkaStatusBackingStore>,
    offsets: Arc<KafkaOffsetBackingStore>,
    settings: DistributedConfig,
    // This worker's REST URL as other workers reach it, with a trailing `/`.
    url: String,
    view: Mutex<ClusterView>,
    // Serialises changes to what the worker runs.
    work: tokio::sync::Mutex<()>,
    // Serialises the leader's config topic writes.
    writes: tokio::sync::Mutex<()>,
    rejoin: Notify,
    http: reqwest::Client,
    cluster_id: RwLock<Option<String>>,
    metrics: RebalanceMetrics,
    /// The group member's client id: its `connect-metrics` and
    /// `connect-coordinator-metrics`, and the worker's `app-info`.
    group_client_id: String,
    shutdown: watch::Sender<bool>,
    stopped: Notify,
    rebalancing: watch::Sender<bool>,
}

impl DistributedHerder {
    /// Creates the internal topics if missing, reads them, and joins the
    /// group. Fails if the topics cannot be created or are unfit.
    pub async fn start(
        worker_config: Arc<WorkerConfig>,
        settings: DistributedConfig,
        plugins: Plugins,
        http: reqwest::Client,
    ) -> ConnectResult<Arc<Self>> {
        let client_id = |purpose: &str| format!("{}-{purpose}", settings.group_id);
        let base = kafka::worker_config(&worker_config, &client_id("internal"))?;
        let admin: AdminClient<DefaultClientContext> = base
            .create()
            .map_err(|e| kafka_error("cannot create admin client", &e))?;
        for topic in [
            InternalTopic::config(
                &settings.config_topic.name,
                settings.config_topic.replication_factor,
            ),
            InternalTopic::offsets(
                &settings.offset_topic.name,
                settings.offset_topic.partitions,
                settings.offset_topic.replication_factor,
            ),
            InternalTopic::status(
                &settings.status_topic.name,
                settings.status_topic.partitions,
                settings.status_topic.replication_factor,
            ),
        ] {
            internal_topics::ensure(&admin, &topic)
                .await
                .map_err(|e| ConnectError::connect(e.to_string()))?;
        }
        let offsets =
            Arc::new(KafkaOffsetBackingStore::open(&base, &settings.offset_topic.name).await?);
        let statuses =
            Arc::new(KafkaStatusBackingStore::open(&base, &settings.status_topic.name).await?);
        let configs = Arc::new(ConfigTopic::open(&base, &settings.config_topic.name).await?);
        let worker = Arc::new(Worker::new(
            worker_config.clone(),
            plugins,
            offsets.clone(),
            statuses.clone(),
        ));
        let security =
            GroupSecurity::from_client_config(&base).map_err(ConnectError::BadRequest)?;
        let group_client_id = client_id(&worker_config.worker_id);
        let group = GroupMember::new(GroupSettings {
            bootstrap: worker_config
                .bootstrap_servers
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            group_id: settings.group_id.clone(),
            protocol_type: "connect".into(),
            session_timeout: settings.session_timeout,
            rebalance_timeout: settings.rebalance_timeout,
            request_timeout: Duration::from_secs(30).min(settings.rebalance_timeout),
            client_id: group_client_id.clone(),
            security,
            metrics: GroupMetrics {
                network: worker
                    .clients
                    .register(ClientKind::Connect, &group_client_id),
                coordinator: worker.clients.coordinator(&group_client_id),
            },
        });
        let url = advertised_url(&worker_config);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let herder = Arc::new_cyclic(|me| DistributedHerder {
            me: me.clone(),
            worker,
            configs,
            statuses,
            offsets,
            settings,
            url,
            view: Mutex::default(),
            work: tokio::sync::Mutex::new(()),
            writes: tokio::sync::Mutex::new(()),
            rejoin: Notify::new(),
            http,
            cluster_id: RwLock::new(None),
            metrics: RebalanceMetrics::new(worker_config.metrics),
            group_client_id,
            shutdown,
            stopped: Notify::new(),
            rebalancing: watch::Sender::new(true),
        });
        let cluster_id = admin.inner().fetch_cluster_id(Duration::from_secs(10));
        if let (Some(id), Ok(mut c)) = (cluster_id, herder.cluster_id.write()) {
            *c = Some(id);
        }
        tokio::spawn(member::run(herder.clone(), group, shutdown_rx));
        info!(url = %herder.url, group = %herder.settings.group_id, "distributed herder started");
        Ok(herder)
    }

    /// The worker.
    pub fn worker(&self) -> &Arc<Worker> {
        &self.worker
    }

    /// Stops every connector and task, and leaves the group so the others
    /// take the work over at once.
    pub async fn stop(&self) {
        let stopped = self.stopped.notified();
        let _ = self.shutdown.send(true);
        if tokio::time::timeout(
            self.worker.config.task_shutdown_timeout + Duration::from_secs(10),
            stopped,
        )
        .await
        .is_err()
        {
            // Stuck in a join (a broker gone): stop the work here, so the
            // tasks still flush and commit; the group drops this member
            // when its session times out.
            tracing::warn!("the group member did not stop in time; stopping the tasks");
            self.worker.stop_all().await;
        }
    }

    fn me(&self) -> Option<Arc<DistributedHerder>> {
        self.me.upgrade()
    }

    fn view(&self) -> ClusterView {
        self.view.lock().map(|v| v.clone()).unwrap_or_default()
    }

    fn update_view(&self, f: impl FnOnce(&mut ClusterView)) {
        if let Ok(mut v) = self.view.lock() {
            f(&mut v);
        }
    }

    /// The view once the rebalance under way, if any, is over: requests
    /// wait for it as they wait for Java's herder thread, up to a bound.
    async fn settled_view(&self) -> ClusterView {
        let mut rebalancing = self.rebalancing.subscribe();
        let settled = rebalancing.wait_for(|r| !*r);
        let _ = tokio::time::timeout(
            self.settings.rebalance_timeout.min(Duration::from_secs(30)),
            settled,
        )
        .await;
        self.view()
    }

    /// Fails with a forwardable error unless this worker leads the group.
    async fn require_leader(&self, message: &str) -> ConnectResult<()> {
        let view = self.settled_view().await;
        if view.is_leader() {
            return Ok(());
        }
        Err(to_leader(&view, message))
    }

    fn state(&self) -> ClusterConfigState {
        self.configs.state()
    }

    // Lookups for one request read the state in place: cloning all of it
    // (every task config) per lookup made `?expand=status` quadratic.
    fn connector_config(&self, name: &str) -> Option<ConnectorConfig> {
        self.configs.read(|s| s.connectors.get(name).cloned())
    }

    fn target_state(&self, name: &str) -> TargetState {
        self.configs.read(|s| s.target_state(name))
    }

    fn exists(&self, name: &str) -> bool {
        self.configs.read(|s| s.connectors.contains_key(name))
    }

    fn task_count(&self, name: &str) -> Option<u32> {
        self.configs.read(|s| s.task_counts.get(name).copied())
    }

    fn session_key(&self) -> Option<(Vec<u8>, String, i64)> {
        self.configs.read(|s| s.session_key.clone())
    }
}

/// The error that sends a request to the leader, or a 409 when no leader
/// is known (a rebalance is under way).
fn to_leader(view: &ClusterView, message: &str) -> ConnectError {
    match &view.leader_url {
        Some(url) if !url.is_empty() => ConnectError::RequestTarget {
            message: message.to_string(),
            url: url.clone(),
        },
        _ => ConnectError::Conflict(
            "Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway.".into(),
        ),
    }
}

/// `rest.advertised.*`, else the first listener: the URL other workers
/// forward requests to, with a trailing `/` as Java's workers send it.
fn advertised_url(config: &WorkerConfig) -> String {
    let props = &config.props;
    let scheme = props
        .get("rest.advertised.listener")
        .map(|s| s.trim().to_ascii_lowercase())
        .or_else(|| {
            config
                .listeners
                .first()
                .and_then(|l| l.split("://").next().map(|s| s.to_ascii_lowercase()))
        })
        .unwrap_or_else(|| "http".to_string());
    format!("{scheme}://{}/", config.worker_id)
}
