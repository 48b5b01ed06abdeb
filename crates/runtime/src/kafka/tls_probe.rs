//! Says why a broker's certificate was refused. librdkafka reports every
//! verification failure as "certificate verify failed"; a second handshake
//! with the same trust settings, made with OpenSSL directly, gets the
//! verification result itself ("Hostname mismatch", "unable to get local
//! issuer certificate", "certificate has expired"), which is what an
//! operator needs to fix the setting.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use openssl::ssl::{HandshakeError, SslConnector, SslMethod, SslVerifyMode};
use openssl::x509::X509;
use rdkafka::ClientConfig;

const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// The trust settings of one client, kept to re-check a refused broker.
#[derive(Debug, Clone, Default)]
pub struct TlsProbe {
    ca_location: Option<String>,
    ca_pem: Option<String>,
    verify_hostname: bool,
    enabled: bool,
}

impl TlsProbe {
    /// The probe for a client's settings (librdkafka's keys).
    pub fn for_config(config: &ClientConfig) -> Self {
        let protocol = config
            .get("security.protocol")
            .unwrap_or("plaintext")
            .to_ascii_lowercase();
        TlsProbe {
            ca_location: config.get("ssl.ca.location").map(str::to_string),
            ca_pem: config.get("ssl.ca.pem").map(str::to_string),
            verify_hostname: config
                .get("ssl.endpoint.identification.algorithm")
                .is_none_or(|a| a.eq_ignore_ascii_case("https")),
            enabled: protocol.ends_with("ssl")
                && config
                    .get("enable.ssl.certificate.verification")
                    .is_none_or(|v| v != "false"),
        }
    }

    /// Why the broker named in librdkafka's `reason` (which starts with
    /// `ssl://host:port/…`) fails verification, if a fresh handshake can
    /// tell.
    pub fn explain(&self, reason: &str) -> Option<String> {
        if !self.enabled {
            return None;
        }
        let address = reason.split("://").nth(1)?.split('/').next()?;
        let (host, _) = address.rsplit_once(':')?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let mut builder = SslConnector::builder(SslMethod::tls_client()).ok()?;
        builder.set_verify(SslVerifyMode::PEER);
        if let Some(file) = &self.ca_location {
            builder.set_ca_file(file).ok()?;
        }
        if let Some(pem) = &self.ca_pem {
            for cert in X509::stack_from_pem(pem.as_bytes()).ok()? {
                builder.cert_store_mut().add_cert(cert).ok()?;
            }
        }
        let connector = builder.build();
        let addr = address.to_socket_addrs().ok()?.next()?;
        let stream = TcpStream::connect_timeout(&addr, PROBE_TIMEOUT).ok()?;
        stream.set_read_timeout(Some(PROBE_TIMEOUT)).ok()?;
        stream.set_write_timeout(Some(PROBE_TIMEOUT)).ok()?;
        let mut config = connector.configure().ok()?;
        config.set_verify_hostname(self.verify_hostname);
        match config.connect(host, stream) {
            Ok(_) => None,
            Err(HandshakeError::Failure(mid)) => {
                let result = mid.ssl().verify_result();
                let subject = peer_certificate(addr, host)
                    .map(|c| describe(&c))
                    .unwrap_or_default();
                Some(match result.as_raw() {
                    // X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH
                    62 | 64 => format!(
                        "{}: the broker's certificate{subject} is not for {host}; connect by a name the certificate lists, or set ssl.endpoint.identification.algorithm= (empty) to skip the check",
                        result.error_string()
                    ),
                    _ => format!(
                        "{}: the broker's certificate{subject} is not trusted by ssl.truststore.location/ssl.truststore.certificates",
                        result.error_string()
                    ),
                })
            }
            Err(_) => None,
        }
    }
}

// The certificate a broker presents, fetched without verifying it, only to
// describe it in the error.
fn peer_certificate(addr: std::net::SocketAddr, host: &str) -> Option<X509> {
    let mut builder = SslConnector::builder(SslMethod::tls_client()).ok()?;
    builder.set_verify(SslVerifyMode::NONE);
    let stream = TcpStream::connect_timeout(&addr, PROBE_TIMEOUT).ok()?;
    stream.set_read_timeout(Some(PROBE_TIMEOUT)).ok()?;
    let mut config = builder.build().configure().ok()?;
    config.set_verify_hostname(false);
    let tls = config.connect(host, stream).ok()?;
    tls.ssl().peer_certificate()
}

fn describe(cert: &openssl::x509::X509Ref) -> String {
    let names: Vec<String> = cert
        .subject_alt_names()
        .map(|names| {
            names
                .iter()
                .filter_map(|n| {
                    n.dnsname().map(str::to_string).or_else(|| {
                        n.ipaddress().and_then(|ip| match ip.len() {
                            4 => Some(
                                std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]).to_string(),
                            ),
                            _ => None,
                        })
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let issuer: Vec<String> = cert
        .issuer_name()
        .entries()
        .filter_map(|e| e.data().to_string().ok())
        .collect();
    let mut out = String::new();
    if !names.is_empty() {
        out.push_str(&format!(" (for {})", names.join(", ")));
    }
    if !issuer.is_empty() {
        out.push_str(&format!(" issued by {}", issuer.join(", ")));
    }
    out
}
