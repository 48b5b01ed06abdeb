//! HTTPS listeners: rustls with a PEM certificate chain and private key.

use std::io::BufReader;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
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

/// Serves the API over TLS until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: Arc<ServerConfig>,
    state: AppState,
    options: &RestOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(tls);
    let svc = service(state, options);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    warn!(error = %e, "accept failed");
                    continue;
                }
            },
        };
        let acceptor = acceptor.clone();
        let svc = svc.clone();
        tokio::spawn(async move {
            let stream = match acceptor.accept(tcp).await {
                Ok(s) => s,
                Err(e) => {
                    debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
            };
            let handler = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let req: Request = req.map(Body::new);
                svc.clone().oneshot(req)
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), handler)
                .await
            {
                debug!(%peer, error = %e, "connection closed with an error");
            }
        });
    }
}
