//! TLS and SASL for the group client, from the same settings the data
//! clients get (already translated into librdkafka's keys by
//! `kafka::security`): PEM trust and key stores, and SASL PLAIN or
//! SCRAM-SHA-256/512 (RFC 5802, RFC 7677) through Kafka's SaslHandshake
//! and SaslAuthenticate requests (KIP-152).

use std::io::BufReader;
use std::sync::Arc;

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use rdkafka::ClientConfig;
use sha2::{Sha256, Sha512};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{crypto, ClientConfig as TlsConfig, RootCertStore};

/// The SASL mechanism and credentials.
#[derive(Clone, PartialEq, Eq)]
pub enum Sasl {
    /// PLAIN.
    Plain {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
    /// SCRAM-SHA-256 or SCRAM-SHA-512.
    Scram {
        /// SHA-512 rather than SHA-256.
        sha512: bool,
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
}

impl std::fmt::Debug for Sasl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.write_str(self.mechanism())
    }
}

impl Sasl {
    /// The mechanism's name in Kafka's SaslHandshake.
    pub fn mechanism(&self) -> &'static str {
        match self {
            Sasl::Plain { .. } => "PLAIN",
            Sasl::Scram { sha512: true, .. } => "SCRAM-SHA-512",
            Sasl::Scram { sha512: false, .. } => "SCRAM-SHA-256",
        }
    }
}

/// How the group client secures its connections.
#[derive(Clone, Default)]
pub struct GroupSecurity {
    /// TLS, when the protocol is SSL or SASL_SSL.
    pub tls: Option<Arc<TlsConfig>>,
    /// SASL, when the protocol is SASL_*.
    pub sasl: Option<Sasl>,
}

impl std::fmt::Debug for GroupSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupSecurity")
            .field("tls", &self.tls.is_some())
            .field("sasl", &self.sasl)
            .finish()
    }
}

fn pem_certs(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = rustls_pemfile::certs(&mut BufReader::new(pem))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("invalid certificate PEM in {what}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("no certificate in {what}"));
    }
    Ok(certs)
}

fn read(path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))
}

impl GroupSecurity {
    /// The security of a client built from `config` (librdkafka's keys).
    pub fn from_client_config(config: &ClientConfig) -> Result<Self, String> {
        let protocol = config
            .get("security.protocol")
            .unwrap_or("plaintext")
            .to_ascii_lowercase();
        let tls = match protocol.as_str() {
            "ssl" | "sasl_ssl" => Some(Arc::new(tls_config(config)?)),
            "plaintext" | "sasl_plaintext" => None,
            other => return Err(format!("unknown security.protocol {other}")),
        };
        let sasl = if protocol.starts_with("sasl_") {
            let mechanism = config.get("sasl.mechanisms").unwrap_or("GSSAPI");
            let user = config.get("sasl.username").unwrap_or_default().to_string();
            let password = config.get("sasl.password").unwrap_or_default().to_string();
            Some(match mechanism {
                "PLAIN" => Sasl::Plain { user, password },
                "SCRAM-SHA-256" => Sasl::Scram {
                    sha512: false,
                    user,
                    password,
                },
                "SCRAM-SHA-512" => Sasl::Scram {
                    sha512: true,
                    user,
                    password,
                },
                other => {
                    return Err(format!(
                        "SASL mechanism {other} is not supported for the group membership connection yet: use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"
                    ))
                }
            })
        } else {
            None
        };
        Ok(GroupSecurity { tls, sasl })
    }
}

fn tls_config(config: &ClientConfig) -> Result<TlsConfig, String> {
    if config
        .get("ssl.endpoint.identification.algorithm")
        .is_some_and(|a| a.eq_ignore_ascii_case("none"))
    {
        return Err(
            "ssl.endpoint.identification.algorithm= (off) is not supported for the group membership connection yet"
                .to_string(),
        );
    }
    let mut roots = RootCertStore::empty();
    let ca = match (config.get("ssl.ca.pem"), config.get("ssl.ca.location")) {
        (Some(pem), _) => Some((
            pem.as_bytes().to_vec(),
            "ssl.truststore.certificates".to_string(),
        )),
        (None, Some(path)) => Some((read(path)?, path.to_string())),
        (None, None) => None,
    };
    match ca {
        Some((pem, what)) => {
            for c in pem_certs(&pem, &what)? {
                roots
                    .add(c)
                    .map_err(|e| format!("invalid CA certificate in {what}: {e}"))?;
            }
        }
        None => {
            return Err(
                "a trust store (ssl.truststore.location or ssl.truststore.certificates) is needed for the group membership connection"
                    .to_string(),
            )
        }
    }
    let provider = Arc::new(crypto::ring::default_provider());
    let builder = TlsConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let chain = match (
        config.get("ssl.certificate.pem"),
        config.get("ssl.certificate.location"),
    ) {
        (Some(pem), _) => Some(pem_certs(pem.as_bytes(), "ssl.keystore.certificate.chain")?),
        (None, Some(path)) => Some(pem_certs(&read(path)?, path)?),
        (None, None) => None,
    };
    let key_pem = match (config.get("ssl.key.pem"), config.get("ssl.key.location")) {
        (Some(pem), _) => Some(pem.as_bytes().to_vec()),
        (None, Some(path)) => Some(read(path)?),
        (None, None) => None,
    };
    match (chain, key_pem) {
        (Some(chain), Some(key_pem)) => {
            if config.get("ssl.key.password").is_some() {
                return Err(
                    "an encrypted key (ssl.key.password) is not supported for the group membership connection yet"
                        .to_string(),
                );
            }
            let key: PrivateKeyDer<'static> =
                rustls_pemfile::private_key(&mut BufReader::new(key_pem.as_slice()))
                    .map_err(|e| format!("invalid private key PEM: {e}"))?
                    .ok_or_else(|| "no private key in the key store".to_string())?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("certificate and key do not match: {e}"))
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}

/// A SCRAM exchange in progress (RFC 5802): the client's messages and the
/// check of the server's final one.
pub(crate) struct Scram {
    sha512: bool,
    password: String,
    client_first_bare: String,
    nonce: String,
    server_signature: Vec<u8>,
}

fn hmac(sha512: bool, key: &[u8], data: &[u8]) -> Vec<u8> {
    if sha512 {
        let mut m =
            <Hmac<Sha512> as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
        m.update(data);
        m.finalize().into_bytes().to_vec()
    } else {
        let mut m =
            <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
        m.update(data);
        m.finalize().into_bytes().to_vec()
    }
}

fn hash(sha512: bool, data: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    if sha512 {
        Sha512::digest(data).to_vec()
    } else {
        Sha256::digest(data).to_vec()
    }
}

// PBKDF2 with one block: SCRAM's salted password is as long as the hash.
fn salted_password(sha512: bool, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
    let mut block = salt.to_vec();
    block.extend_from_slice(&1u32.to_be_bytes());
    let mut u = hmac(sha512, password, &block);
    let mut out = u.clone();
    for _ in 1..iterations {
        u = hmac(sha512, password, &u);
        for (o, b) in out.iter_mut().zip(&u) {
            *o ^= b;
        }
    }
    out
}

// RFC 5802: ',' and '=' in a user name are escaped.
fn saslname(user: &str) -> String {
    user.replace('=', "=3D").replace(',', "=2C")
}

impl Scram {
    /// Starts an exchange; returns it and the client-first message.
    pub(crate) fn start(
        sha512: bool,
        user: &str,
        password: &str,
    ) -> Result<(Self, Vec<u8>), String> {
        let mut raw = [0u8; 24];
        getrandom::fill(&mut raw).map_err(|e| format!("no randomness for the SCRAM nonce: {e}"))?;
        let nonce = base64::engine::general_purpose::STANDARD.encode(raw);
        Ok(Self::with_nonce(sha512, user, password, nonce))
    }

    fn with_nonce(sha512: bool, user: &str, password: &str, nonce: String) -> (Self, Vec<u8>) {
        let client_first_bare = format!("n={},r={nonce}", saslname(user));
        let first = format!("n,,{client_first_bare}").into_bytes();
        (
            Scram {
                sha512,
                password: password.to_string(),
                client_first_bare,
                nonce,
                server_signature: Vec::new(),
            },
            first,
        )
    }

    /// Answers the server-first message with the client-final one.
    pub(crate) fn client_final(&mut self, server_first: &[u8]) -> Result<Vec<u8>, String> {
        let server_first = std::str::from_utf8(server_first)
            .map_err(|_| "SCRAM server-first message is not UTF-8".to_string())?;
        let mut nonce = None;
        let mut salt = None;
        let mut iterations = None;
        for attr in server_first.split(',') {
            match attr.split_once('=') {
                Some(("r", v)) => nonce = Some(v),
                Some(("s", v)) => salt = Some(v),
                Some(("i", v)) => iterations = v.parse::<u32>().ok(),
                _ => {}
            }
        }
        let nonce = nonce.ok_or("SCRAM server-first message has no nonce")?;
        if !nonce.starts_with(&self.nonce) {
            return Err("SCRAM server nonce does not extend the client's".into());
        }
        let salt = base64::engine::general_purpose::STANDARD
            .decode(salt.ok_or("SCRAM server-first message has no salt")?)
            .map_err(|_| "SCRAM salt is not base64".to_string())?;
        let iterations = iterations
            .filter(|i| *i > 0)
            .ok_or("SCRAM server-first message has no iteration count")?;
        let salted = salted_password(self.sha512, self.password.as_bytes(), &salt, iterations);
        let client_key = hmac(self.sha512, &salted, b"Client Key");
        let stored_key = hash(self.sha512, &client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let signature = hmac(self.sha512, &stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&signature)
            .map(|(a, b)| a ^ b)
            .collect();
        let server_key = hmac(self.sha512, &salted, b"Server Key");
        self.server_signature = hmac(self.sha512, &server_key, auth_message.as_bytes());
        Ok(format!(
            "{without_proof},p={}",
            base64::engine::general_purpose::STANDARD.encode(proof)
        )
        .into_bytes())
    }

    /// Checks the server-final message: the server knew the password too.
    pub(crate) fn verify(&self, server_final: &[u8]) -> Result<(), String> {
        let text = String::from_utf8_lossy(server_final);
        if let Some(e) = text.strip_prefix("e=") {
            return Err(format!("SCRAM authentication failed: {e}"));
        }
        let v = text
            .strip_prefix("v=")
            .ok_or("SCRAM server-final message has no verifier")?;
        let v = base64::engine::general_purpose::STANDARD
            .decode(v.trim())
            .map_err(|_| "SCRAM server verifier is not base64".to_string())?;
        if v != self.server_signature {
            return Err("SCRAM server signature does not match: not the broker we trust".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// RFC 7677's SCRAM-SHA-256 example exchange.
    #[test]
    fn scram_sha_256_matches_rfc_7677() {
        let (mut scram, first) =
            Scram::with_nonce(false, "user", "pencil", "rOprNGfwEbeRWgbNEkqO".into());
        assert_eq!(first, b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let last = scram
            .client_final(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
            .unwrap();
        assert_eq!(
            String::from_utf8(last).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        scram
            .verify(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        assert!(scram.verify(b"v=AAAA").is_err());
        assert!(scram.verify(b"e=invalid-proof").is_err());
    }

    #[test]
    fn a_server_nonce_that_does_not_extend_ours_is_refused() {
        let (mut scram, _) = Scram::with_nonce(true, "u", "p", "abc".into());
        assert!(scram.client_final(b"r=xyz,s=AAAA,i=4096").is_err());
        assert!(scram.client_final(b"r=abcd,s=AAAA,i=0").is_err());
    }

    #[test]
    fn security_follows_the_translated_client_settings() {
        let mut c = ClientConfig::new();
        c.set("security.protocol", "sasl_plaintext")
            .set("sasl.mechanisms", "SCRAM-SHA-512")
            .set("sasl.username", "alice")
            .set("sasl.password", "secret");
        let s = GroupSecurity::from_client_config(&c).unwrap();
        assert!(s.tls.is_none());
        assert_eq!(s.sasl.as_ref().map(Sasl::mechanism), Some("SCRAM-SHA-512"));
        assert!(!format!("{s:?}").contains("secret"));
        c.set("sasl.mechanisms", "OAUTHBEARER");
        assert!(GroupSecurity::from_client_config(&c).is_err());
        let mut c = ClientConfig::new();
        c.set("security.protocol", "ssl");
        assert!(GroupSecurity::from_client_config(&c)
            .unwrap_err()
            .contains("trust store"));
    }
}
