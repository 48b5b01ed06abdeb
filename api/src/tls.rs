//! HTTPS listeners: rustls with a PEM certificate chain and private key.

use std::io::BufReader;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rampart_core::backoff::AcceptBackoff;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;
use tracing::{debug, warn};

pub use tokio_rustls::rustls::ServerConfig as RustlsServerConfig;

use crate::{service, AppState, RestOptions};

/// Loads a PEM certificate chain and private key. They may live in one
/// file (Kafka's PEM keystore) or two.
pub fn load(cert_path: &str, key_path: &str) -> Result<Arc<ServerConfig>, String> {
    let read = |p: &str| std::fs::read(p).map_err(|e| format!("cannot read {p}: {e}"));
    let cert_pem = read(cert_path)?;
    let certs: Vec<CertificateDer<'static>> =
        rustls_pemfile::certs(&mut BufReader::new(cert_pem.as_slice()))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("invalid certificate PEM in {cert_path}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("no certificate found in {cert_path}"));
    }
    let key_pem = read(key_path)?;
    let key: PrivateKeyDer<'static> =
        rustls_pemfile::private_key(&mut BufReader::new(key_pem.as_slice()))
            .map_err(|e| format!("invalid private key PEM in {key_path}: {e}"))?
            .ok_or_else(|| format!("no private key found in {key_path}"))?;
    let config = ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| format!("certificate and key do not form a valid pair: {e}"))?;
    Ok(Arc::new(config))
}

/// Connections served at once over TLS; more wait in the kernel's backlog.
/// Jetty, which serves Java Connect's API, bounds them by its thread pool.
const MAX_CONNECTIONS: usize = 1024;

/// A peer that has not finished its handshake by then is dropped, so a
/// silent connection cannot hold one of the `MAX_CONNECTIONS` slots.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// On shutdown, how long open connections get to finish their requests.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves the API over TLS until `shutdown` completes, then lets open
/// connections finish what they are answering.
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: Arc<ServerConfig>,
    state: AppState,
    options: &RestOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(
        listener,
        tls,
        service(state, options),
        Limits::default(),
        shutdown,
    )
    .await
}

#[derive(Clone, Copy)]
struct Limits {
    connections: usize,
    handshake: Duration,
    drain: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connections: MAX_CONNECTIONS,
            handshake: HANDSHAKE_TIMEOUT,
            drain: DRAIN_TIMEOUT,
        }
    }
}

async fn serve_with<S>(
    listener: tokio::net::TcpListener,
    tls: Arc<ServerConfig>,
    svc: S,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    S: tower::Service<
            Request,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    let acceptor = TlsAcceptor::from(tls);
    let slots = Arc::new(Semaphore::new(limits.connections));
    let (stopping, stop) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut backoff = AcceptBackoff::default();
    tokio::pin!(shutdown);
    loop {
        // Finished connections leave the set as they go.
        while connections.try_join_next().is_some() {}
        let slot = tokio::select! {
            _ = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let (tcp, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => {
                    backoff.accepted();
                    a
                }
                Err(e) => {
                    let delay = backoff.failed();
                    warn!(error = %e, retry_in = ?delay, "accept failed");
                    tokio::select! {
                        _ = &mut shutdown => break,
                        _ = tokio::time::sleep(delay) => continue,
                    }
                }
            },
        };
        let acceptor = acceptor.clone();
        let svc = svc.clone();
        let mut stop = stop.clone();
        connections.spawn(async move {
            let _slot = slot;
            let stream = match tokio::time::timeout(limits.handshake, acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    debug!(%peer, "TLS handshake not finished in time; closing");
                    return;
                }
            };
            let handler = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let req: Request = req.map(Body::new);
                svc.clone().oneshot(req)
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), handler);
            tokio::pin!(conn);
            let served = tokio::select! {
                served = conn.as_mut() => served,
                _ = async { let _ = stop.wait_for(|s| *s).await; } => {
                    // Finish the request in flight, then close.
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = served {
                debug!(%peer, error = %e, "connection closed with an error");
            }
        });
    }
    let _ = stopping.send(true);
    let drained = tokio::time::timeout(limits.drain, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        warn!(
            open = connections.len(),
            "HTTPS connections still open after {:?}; closing them", limits.drain
        );
        connections.shutdown().await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    // A pair for localhost and 127.0.0.1 signed by a test CA, both valid
    // until 2126 (`openssl req -x509` and `openssl x509 -req`, P-256).
    const PAIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/localhost.pem");
    const CA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/ca.pem");

    async fn https(
        limits: Limits,
        route: axum::Router,
    ) -> (
        std::net::SocketAddr,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<std::io::Result<()>>,
    ) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let tls = load(PAIR, PAIR).expect("test pair loads");
        let server = tokio::spawn(serve_with(listener, tls, route, limits, async {
            let _ = stopped.await;
        }));
        (address, stop, server)
    }

    /// A GET over TLS that trusts the test pair; the whole answer.
    async fn get(address: std::net::SocketAddr, path: &str) -> String {
        let mut roots = tokio_rustls::rustls::RootCertStore::empty();
        let pem = std::fs::read(CA).expect("test CA");
        for cert in rustls_pemfile::certs(&mut BufReader::new(pem.as_slice())) {
            roots.add(cert.expect("certificate")).expect("trusted");
        }
        let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_root_certificates(roots)
        .with_no_client_auth();
        let tcp = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        let name =
            tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").expect("name");
        let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .expect("handshake");
        tls.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .expect("request");
        let mut answer = String::new();
        let _ = tls.read_to_string(&mut answer).await;
        answer
    }

    fn hello() -> axum::Router {
        axum::Router::new().route("/", axum::routing::get(|| async { "hello" }))
    }

    #[tokio::test]
    async fn a_silent_peer_is_dropped_after_the_handshake_timeout_and_frees_its_slot() {
        let limits = Limits {
            connections: 1,
            handshake: Duration::from_millis(300),
            drain: Duration::from_secs(5),
        };
        let (address, _stop, _server) = https(limits, hello()).await;
        let mut silent = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        // The only slot is the silent peer's until its handshake times out;
        // without the timeout this GET would wait forever.
        let answer = tokio::time::timeout(Duration::from_secs(20), get(address, "/"))
            .await
            .expect("served once the silent peer was dropped");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("hello"), "{answer}");
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(20), silent.read_to_end(&mut rest))
            .await
            .expect("the silent peer was closed");
        assert!(read.is_ok() && rest.is_empty(), "{read:?} {rest:?}");
    }

    #[tokio::test]
    async fn shutdown_lets_the_request_in_flight_finish() {
        let release = Arc::new(tokio::sync::Notify::new());
        let entered = Arc::new(tokio::sync::Notify::new());
        let (r, e) = (release.clone(), entered.clone());
        let slow = axum::Router::new().route(
            "/slow",
            axum::routing::get(move || {
                let (r, e) = (r.clone(), e.clone());
                async move {
                    e.notify_one();
                    r.notified().await;
                    "finished"
                }
            }),
        );
        let (address, stop, mut server) = https(Limits::default(), slow).await;
        let request = tokio::spawn(get(address, "/slow"));
        entered.notified().await;
        stop.send(()).expect("server runs");
        // The worker exits when `serve` returns: it must not while a
        // request is in flight. (A bounded wait shows only that it did not
        // return in that time; the answer below shows the request was kept.)
        tokio::select! {
            _ = &mut server => panic!("serve returned with a request in flight"),
            _ = tokio::time::sleep(Duration::from_millis(300)) => {}
        }
        release.notify_one();
        let answer = request.await.expect("client ran");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("finished"), "{answer}");
        server
            .await
            .expect("server ran")
            .expect("served until drained");
    }
}
