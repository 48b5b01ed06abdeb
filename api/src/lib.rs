//! The Kafka Connect REST API (3.9), on axum: every public endpoint with
//! Kafka's paths, status codes, JSON shapes and error bodies. It talks to
//! the herder only through `rampart_core::herder::Herder`, so standalone and
//! distributed herders serve the same API.

mod body;
mod error;
mod forward;
mod middleware;
mod routes;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tls;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::Router;
use rampart_core::herder::Herder;
use serde::Serialize;
use tower::ServiceExt as _;

pub use error::{ApiError, ApiResult};
pub use forward::Forwarder;
pub use middleware::{BasicAuth, Cors};

/// A logger's level as `/admin/loggers` shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LoggerLevel {
    /// TRACE, DEBUG, INFO, WARN, ERROR or OFF.
    pub level: String,
    /// When it was last changed over REST (ms), or null.
    pub last_modified: Option<i64>,
}

/// Runtime log-level control behind `/admin/loggers`.
pub trait LoggerAdmin: Send + Sync {
    /// The root logger plus every logger set explicitly.
    fn levels(&self) -> BTreeMap<String, LoggerLevel>;
    /// One logger's level, if known.
    fn level(&self, name: &str) -> Option<LoggerLevel>;
    /// Sets a level; returns the loggers affected.
    fn set_level(&self, name: &str, level: &str) -> Result<Vec<String>, String>;
}

/// Shared handler state.
#[derive(Clone)]
pub struct AppState {
    /// The herder.
    pub herder: Arc<dyn Herder>,
    /// Log levels.
    pub loggers: Arc<dyn LoggerAdmin>,
}

/// Options of the REST server beyond the herder.
#[derive(Debug, Clone, Default)]
pub struct RestOptions {
    /// CORS settings.
    pub cors: Cors,
    /// Basic auth, when enabled.
    pub basic_auth: Option<BasicAuth>,
    /// How requests for other workers of a cluster are sent there.
    pub forwarder: Forwarder,
}

/// Builds the router. Wrap it with [`service`] to get trailing-slash handling.
pub fn router(state: AppState, options: &RestOptions) -> Router {
    use routes::{admin, connectors as c, plugins, root};
    let mut r = Router::new()
        .route("/", get(root::server_info))
        .route("/health", get(root::health))
        .route("/metrics", get(root::metrics))
        .route("/connectors", get(c::list).post(c::create))
        .route("/connectors/{name}", get(c::get).delete(c::delete))
        .route(
            "/connectors/{name}/config",
            get(c::get_config).put(c::put_config).patch(c::patch_config),
        )
        .route("/connectors/{name}/status", get(c::status))
        .route("/connectors/{name}/restart", post(c::restart))
        .route("/connectors/{name}/pause", put(c::pause))
        .route("/connectors/{name}/resume", put(c::resume))
        .route("/connectors/{name}/stop", put(c::stop))
        .route(
            "/connectors/{name}/tasks",
            get(c::tasks).post(c::put_task_configs),
        )
        .route("/connectors/{name}/tasks-config", get(c::tasks_config))
        .route(
            "/connectors/{name}/tasks/{task}/status",
            get(c::task_status),
        )
        .route(
            "/connectors/{name}/tasks/{task}/restart",
            post(c::restart_task),
        )
        .route("/connectors/{name}/topics", get(c::topics))
        .route("/connectors/{name}/topics/reset", put(c::reset_topics))
        .route(
            "/connectors/{name}/offsets",
            get(c::offsets)
                .patch(c::alter_offsets)
                .delete(c::reset_offsets),
        )
        .route("/connector-plugins", get(plugins::list))
        .route(
            "/connector-plugins/{plugin}/config",
            get(plugins::config_def),
        )
        .route(
            "/connector-plugins/{plugin}/config/validate",
            put(plugins::validate),
        )
        .route("/admin/loggers", get(admin::list))
        .route("/admin/loggers/{name}", get(admin::get).put(admin::set))
        .fallback(|| async { error::http_error(StatusCode::NOT_FOUND) })
        .method_not_allowed_fallback(|| async { error::http_error(StatusCode::METHOD_NOT_ALLOWED) })
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(options.forwarder.clone()),
            forward::forward,
        ));
    if let Some(auth) = &options.basic_auth {
        r = r.layer(axum::middleware::from_fn_with_state(
            Arc::new(auth.clone()),
            middleware::basic_auth,
        ));
    }
    r.layer(axum::middleware::from_fn_with_state(
        Arc::new(options.cors.clone()),
        middleware::cors,
    ))
}

/// The complete REST service: the router behind trailing-slash normalisation.
pub fn service(
    state: AppState,
    options: &RestOptions,
) -> impl tower::Service<
    Request,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone
       + Send
       + 'static {
    // Outside the router: axum adds `Allow` to a 405 after the router's
    // own layers have run.
    tower::ServiceBuilder::new()
        .layer(axum::middleware::from_fn(middleware::options))
        .service(router(state, options).map_request(middleware::strip_trailing_slash))
}

/// Serves the API on a bound listener until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    options: &RestOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let svc = service(state, options);
    axum::serve(listener, tower::make::Shared::new(svc))
        .with_graceful_shutdown(shutdown)
        .await
}
