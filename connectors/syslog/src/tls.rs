//! TLS for the TCPSSL listener (RFC 5425): PEM certificate chain and key,
//! and optionally client certificates checked against a CA.

use std::io::BufReader;
use std::sync::Arc;

use rampart_core::{ConnectError, ConnectResult};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{crypto, RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

fn certs(path: &str) -> ConnectResult<Vec<CertificateDer<'static>>> {
    let pem = std::fs::read(path)
        .map_err(|e| ConnectError::BadRequest(format!("cannot read {path}: {e}")))?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut BufReader::new(pem.as_slice()))
        .collect::<Result<_, _>>()
        .map_err(|e| ConnectError::BadRequest(format!("invalid certificate PEM in {path}: {e}")))?;
    if certs.is_empty() {
        return Err(ConnectError::BadRequest(format!(
            "no certificate in {path}"
        )));
    }
    Ok(certs)
}

/// Builds the acceptor from PEM files.
pub(crate) fn acceptor(
    cert: &str,
    key: &str,
    client_ca: Option<&str>,
) -> ConnectResult<TlsAcceptor> {
    let chain = certs(cert)?;
    let key_pem = std::fs::read(key)
        .map_err(|e| ConnectError::BadRequest(format!("cannot read {key}: {e}")))?;
    let key: PrivateKeyDer<'static> =
        rustls_pemfile::private_key(&mut BufReader::new(key_pem.as_slice()))
            .map_err(|e| {
                ConnectError::BadRequest(format!("invalid private key PEM in {key}: {e}"))
            })?
            .ok_or_else(|| ConnectError::BadRequest(format!("no private key in {key}")))?;
    let provider = Arc::new(crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectError::connect(e.to_string()))?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for c in certs(ca)? {
                roots.add(c).map_err(|e| {
                    ConnectError::BadRequest(format!("invalid CA certificate in {ca}: {e}"))
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| {
                    ConnectError::BadRequest(format!("cannot verify clients with {ca}: {e}"))
                })?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder
        .with_single_cert(chain, key)
        .map_err(|e| ConnectError::BadRequest(format!("certificate and key do not match: {e}")))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
