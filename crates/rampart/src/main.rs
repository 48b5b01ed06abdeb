//! `rampart`: a Kafka Connect–compatible worker. This file only wires the
//! CLI, logging, the plugin registry, the herder and the REST server.

mod connector_files;
mod health;
mod logging;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use rampart_api::{AppState, BasicAuth, Cors, RestOptions};
use rampart_core::connector::ConnectorPlugin;
use rampart_core::herder::Herder;
use rampart_core::transform::TransformPlugins;
use rampart_runtime::distributed::config::DistributedConfig;
use rampart_runtime::herder::{DeferredHerder, DistributedHerder, StandaloneHerder};
use rampart_runtime::plugins::Plugins;
use rampart_runtime::stores::{
    FileConfigBackingStore, FileOffsetBackingStore, MemoryStatusBackingStore,
};
use rampart_runtime::worker::Worker;
use rampart_runtime::worker_config::{parse_listener, WorkerConfig};
use tracing::{error, info, warn};

// glibc's allocator spends up to a third of the per-record time in
// malloc/free on the transform and converter paths; mimalloc halves that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The one explicit list of connector plugins.
fn connectors() -> Vec<ConnectorPlugin> {
    vec![
        rampart_connector_file::source_plugin(),
        rampart_connector_file::sink_plugin(),
        rampart_connector_syslog::source_plugin(),
        rampart_connector_splunk_hec::sink_plugin(),
        rampart_connector_s3::sink_plugin(),
        rampart_connector_elasticsearch::sink_plugin(),
    ]
}

/// The plugin registry: the connectors above, Kafka's transforms and
/// predicates, and Rampart's security transforms.
fn plugins() -> Plugins {
    Plugins::new(connectors()).with_transforms(TransformPlugins::builtin().with(
        rampart_security::transforms(),
        rampart_security::predicates(),
    ))
}

#[derive(Parser)]
#[command(
    name = "rampart",
    version,
    about = "A Kafka Connect-compatible worker in one binary"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a standalone worker, like connect-standalone.sh.
    Standalone {
        /// Worker config (.properties).
        worker: PathBuf,
        /// Connector configs (.properties, or JSON bodies of POST or PUT).
        connectors: Vec<PathBuf>,
    },
    /// Runs a worker of a distributed cluster, like connect-distributed.sh.
    Distributed {
        /// Worker config (.properties): `group.id`, the internal topics…
        worker: PathBuf,
    },
    /// Prints the connector configuration reference (Markdown), generated
    /// from the config definitions.
    ConfigReference,
    /// Asks a worker's REST API whether it is healthy (`GET /health`): exit
    /// status 0 when it is, 1 with the reason when not. The container
    /// image's healthcheck, which needs no curl.
    Health {
        /// The worker's REST URL. Defaults to the first listener of
        /// `CONNECT_LISTENERS`, asked on 127.0.0.1, else http://127.0.0.1:8083.
        url: Option<String>,
        /// Accepts any certificate from an https:// listener.
        #[arg(long)]
        insecure: bool,
        /// `user:password` for a REST API with basic auth.
        #[arg(long)]
        user: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match cli.command {
        // The probe runs on a small runtime and logs nothing: its output is
        // what `docker inspect` shows.
        Command::Health { .. } => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        _ => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Health {
            url,
            insecure,
            user,
        } => return health(&runtime, url, insecure, user.as_deref()),
        Command::Standalone { worker, connectors } => {
            runtime.block_on(standalone(worker, connectors, logging::init()))
        }
        Command::Distributed { worker } => runtime.block_on(distributed(worker, logging::init())),
        Command::ConfigReference => {
            print!("{}", rampart_runtime::plugins::config_reference(&plugins()));
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!(error = %e, "worker exiting");
            eprintln!("rampart: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `rampart health`: asks the worker's `/health`, by default on the listener
/// `CONNECT_LISTENERS` names.
fn health(
    runtime: &tokio::runtime::Runtime,
    url: Option<String>,
    insecure: bool,
    user: Option<&str>,
) -> ExitCode {
    let url = url
        .unwrap_or_else(|| health::default_url(std::env::var("CONNECT_LISTENERS").ok().as_deref()));
    match runtime.block_on(health::probe(&url, insecure, user)) {
        Ok(body) => {
            println!("{body}");
            ExitCode::SUCCESS
        }
        Err(reason) => {
            eprintln!("unhealthy: {reason}");
            ExitCode::FAILURE
        }
    }
}

async fn standalone(
    worker_path: PathBuf,
    connector_paths: Vec<PathBuf>,
    loggers: logging::Loggers,
) -> Result<(), String> {
    let config = Arc::new(WorkerConfig::load(&worker_path)?);
    let files = connector_paths
        .iter()
        .map(|p| connector_files::read(p))
        .collect::<Result<Vec<_>, _>>()?;

    let offsets = Arc::new(
        FileOffsetBackingStore::open(config.offset_file.clone()).map_err(|e| e.to_string())?,
    );
    // Connector configs live beside the offsets file, so REST-created
    // connectors survive a restart.
    let config_file = config.offset_file.as_ref().map(|p| {
        let mut s = p.clone().into_os_string();
        s.push(".connectors.json");
        PathBuf::from(s)
    });
    let configs = Arc::new(FileConfigBackingStore::open(config_file).map_err(|e| e.to_string())?);
    let worker = Arc::new(Worker::new(
        config.clone(),
        plugins(),
        offsets,
        Arc::new(MemoryStatusBackingStore::default()),
    ));
    let herder = Arc::new(StandaloneHerder::new(worker, configs));

    let rest = Rest::start(&config, herder.clone(), loggers, forward_client(&config)?).await?;
    tokio::spawn(fetch_cluster_id(config.clone(), herder.clone()));
    herder.start().await;
    for file in files {
        match herder
            .put_connector_config(&file.name, file.config, true, None)
            .await
        {
            Ok(c) => {
                info!(connector = %file.name, created = c.created, "connector from command line applied")
            }
            Err(e) => {
                rest.stop().await;
                herder.stop().await;
                return Err(format!("failed to create connector {}: {e}", file.name));
            }
        }
    }
    info!(worker_id = %config.worker_id, "rampart worker started");

    wait_for_signal().await;
    info!("shutting down");
    herder.stop().await;
    rest.stop().await;
    Ok(())
}

async fn distributed(worker_path: PathBuf, loggers: logging::Loggers) -> Result<(), String> {
    let config = Arc::new(WorkerConfig::load(&worker_path)?);
    let settings = DistributedConfig::from_props(&config.props)?;
    let http = forward_client(&config)?;
    // The REST API answers at once; until the internal topics can be read,
    // /health says why and other requests get a 503, as the worker keeps
    // trying.
    let deferred = Arc::new(DeferredHerder::new(plugins()));
    let rest = Rest::start(&config, deferred.clone(), loggers, http.clone()).await?;
    let mut delay = Duration::from_millis(500);
    let herder = loop {
        let started =
            DistributedHerder::start(config.clone(), settings.clone(), plugins(), http.clone());
        tokio::select! {
            started = started => match started {
                Ok(h) => break h,
                Err(e) => {
                    error!(error = %e, "cannot start the distributed herder; retrying");
                    deferred.set_waiting(e.to_string());
                }
            },
            _ = wait_for_signal() => {
                rest.stop().await;
                return Ok(());
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = wait_for_signal() => {
                rest.stop().await;
                return Ok(());
            }
        }
        delay = (delay * 2).min(Duration::from_secs(10));
    };
    deferred.ready(herder.clone());
    info!(worker_id = %config.worker_id, group = %settings.group_id, "rampart worker started");
    wait_for_signal().await;
    info!("shutting down");
    herder.stop().await;
    rest.stop().await;
    Ok(())
}

/// The client requests for other workers are forwarded with: it trusts
/// the CA of `listeners.https.ssl.truststore.location` (PEM) when set.
fn forward_client(config: &WorkerConfig) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(90));
    let ca = config
        .props
        .get("listeners.https.ssl.truststore.location")
        .or_else(|| config.props.get("rest.client.ssl.truststore.location"));
    if let Some(path) = ca {
        let pem = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .map_err(|e| format!("{path} is not a PEM certificate: {e}"))?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build()
        .map_err(|e| format!("cannot create the REST forwarding client: {e}"))
}

/// The REST servers of every listener.
struct Rest {
    shutdown: tokio::sync::watch::Sender<bool>,
    servers: Vec<tokio::task::JoinHandle<()>>,
}

impl Rest {
    /// `http` forwards requests meant for other workers of a cluster.
    async fn start(
        config: &WorkerConfig,
        herder: Arc<dyn Herder>,
        loggers: logging::Loggers,
        http: reqwest::Client,
    ) -> Result<Self, String> {
        let options = RestOptions {
            cors: Cors {
                allow_origin: config
                    .props
                    .get("access.control.allow.origin")
                    .cloned()
                    .unwrap_or_default(),
                allow_methods: config
                    .props
                    .get("access.control.allow.methods")
                    .cloned()
                    .unwrap_or_default(),
            },
            basic_auth: match config.props.get("rest.basic.auth.credentials.file") {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| format!("cannot read {path}: {e}"))?;
                    Some(BasicAuth::parse(&text)?)
                }
                None => None,
            },
            forwarder: rampart_api::Forwarder::new(http),
        };
        let state = AppState {
            herder,
            loggers: Arc::new(loggers),
        };
        let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
        let mut servers = Vec::new();
        for listener in &config.listeners {
            let ((scheme, host), port) = parse_listener(listener)?;
            let tls = if scheme == "https" {
                Some(tls_config(config)?)
            } else {
                None
            };
            let bind = if host.is_empty() {
                "0.0.0.0".to_string()
            } else {
                host
            };
            let tcp = tokio::net::TcpListener::bind((bind.as_str(), port))
                .await
                .map_err(|e| format!("cannot listen on {listener}: {e}"))?;
            info!(listener = %listener, address = ?tcp.local_addr().ok(), "REST API listening");
            let mut rx = shutdown_rx.clone();
            let state = state.clone();
            let options = options.clone();
            servers.push(tokio::spawn(async move {
                let stop = async move {
                    let _ = rx.wait_for(|s| *s).await;
                };
                let served = match tls {
                    Some(tls) => rampart_api::tls::serve(tcp, tls, state, &options, stop).await,
                    None => rampart_api::serve(tcp, state, &options, stop).await,
                };
                if let Err(e) = served {
                    error!(error = %e, "REST server failed");
                }
            }));
        }

        Ok(Rest {
            shutdown: shutdown_tx,
            servers,
        })
    }

    async fn stop(self) {
        let _ = self.shutdown.send(true);
        for s in self.servers {
            let _ = s.await;
        }
    }
}

/// TLS settings of an `https://` listener: `listeners.https.ssl.*` first,
/// then `ssl.*`. A PEM keystore (`ssl.keystore.type=PEM`) holds key and
/// chain in one file; `ssl.certificate.location` and `ssl.key.location`
/// name them separately.
fn tls_config(config: &WorkerConfig) -> Result<Arc<rampart_api::tls::RustlsServerConfig>, String> {
    let get = |key: &str| {
        config
            .props
            .get(&format!("listeners.https.{key}"))
            .or_else(|| config.props.get(key))
            .map(|s| s.trim().to_string())
    };
    let (cert, key) = match (get("ssl.certificate.location"), get("ssl.key.location"), get("ssl.keystore.location")) {
        (Some(c), Some(k), _) => (c, k),
        (_, _, Some(store)) => {
            let kind = get("ssl.keystore.type").unwrap_or_default();
            if !kind.eq_ignore_ascii_case("PEM") {
                return Err(format!("https listener: ssl.keystore.type must be PEM (got '{kind}'); JKS and PKCS12 keystores are not supported"));
            }
            (store.clone(), store)
        }
        _ => return Err("https listener needs listeners.https.ssl.certificate.location and listeners.https.ssl.key.location, or a PEM keystore (listeners.https.ssl.keystore.type=PEM and listeners.https.ssl.keystore.location)".to_string()),
    };
    rampart_api::tls::load(&cert, &key)
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

// The broker may be down at startup: keep asking, with a clear log line,
// while the REST API already answers.
async fn fetch_cluster_id(config: Arc<WorkerConfig>, herder: Arc<StandaloneHerder>) {
    let mut delay = Duration::from_millis(200);
    loop {
        let cfg = config.clone();
        let result = tokio::task::spawn_blocking(
            move || -> Result<Result<String, Option<String>>, String> {
                use rampart_runtime::kafka::ReportingContext;
                use rdkafka::producer::{BaseProducer, Producer};
                // A plain client whose main queue we poll, so librdkafka's error
                // callbacks (wrong password, refused certificate) reach the
                // context and can be reported; an admin client's are not served.
                let admin_cfg = rampart_runtime::kafka::admin_config(
                    &cfg,
                    &Default::default(),
                    "rampart-worker-admin",
                )
                .map_err(|e| e.to_string())?;
                let client: BaseProducer<ReportingContext> = admin_cfg
                    .create_with_context(ReportingContext::new(&admin_cfg))
                    .map_err(|e| e.to_string())?;
                let id = client.client().fetch_cluster_id(Duration::from_secs(5));
                client.poll(Duration::from_millis(100));
                Ok(id.ok_or_else(|| client.context().fatal()))
            },
        )
        .await;
        match result {
            Ok(Ok(Ok(id))) => {
                info!(cluster_id = %id, "connected to kafka cluster");
                herder.set_cluster_id(id);
                return;
            }
            Ok(Ok(Err(Some(reason)))) => {
                error!(bootstrap = %config.bootstrap_servers, %reason, "cannot connect to kafka cluster; retrying");
                herder.set_kafka_problem(reason);
            }
            Ok(Ok(Err(None))) => {
                warn!(bootstrap = %config.bootstrap_servers, "kafka cluster unreachable; retrying");
                herder.set_kafka_problem(format!(
                    "no answer from {} within 5 s",
                    config.bootstrap_servers
                ));
            }
            Ok(Err(e)) => warn!(error = %e, "cannot create kafka admin client; retrying"),
            Err(e) => warn!(error = %e, "cluster id lookup panicked; retrying"),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}
