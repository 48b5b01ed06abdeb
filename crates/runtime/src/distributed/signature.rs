//! Inter-worker request signing (KIP-507): a follower whose connector
//! produced new task configs sends them to the leader signed with the
//! session key the leader wrote to the config topic, and the leader checks
//! the signature, so nothing else on the network can inject task configs.

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use rampart_core::herder::InternalRequestSignature;
use rampart_core::{ConnectError, ConnectResult};
use sha2::Sha256;

/// The only algorithm Rampart signs with, Java's default.
pub const ALGORITHM: &str = "HmacSHA256";
/// Java's `KeyGenerator` default length for HmacSHA256, in bytes.
const KEY_BYTES: usize = 32;

/// A fresh session key.
pub fn new_key() -> ConnectResult<Vec<u8>> {
    let mut key = vec![0u8; KEY_BYTES];
    getrandom::fill(&mut key)
        .map_err(|e| ConnectError::connect(format!("no randomness for a session key: {e}")))?;
    Ok(key)
}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length")
}

/// The `X-Connect-Authorization` value for a body.
pub fn sign(key: &[u8], body: &[u8]) -> String {
    let mut m = mac(key);
    m.update(body);
    base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes())
}

/// Checks an internal request as Java's `requestNotSignedProperly` does,
/// with its status codes and messages.
pub fn verify(
    signature: Option<&InternalRequestSignature>,
    accepted: &[String],
    key: Option<&[u8]>,
    body: &[u8],
) -> ConnectResult<()> {
    let Some(signature) = signature else {
        return Err(ConnectError::BadRequest(
            "Internal request missing required signature".into(),
        ));
    };
    if !accepted.contains(&signature.algorithm) {
        return Err(ConnectError::BadRequest(format!(
            "This worker does not support the '{}' key signing algorithm used by other workers. This worker is currently configured to use: [{}]. Check that all workers' configuration files permit the same set of signature algorithms, and correct any misconfigured worker and restart it.",
            signature.algorithm,
            accepted.join(", ")
        )));
    }
    let Some(key) = key else {
        return Err(ConnectError::Rest {
            status: 503,
            message: "This worker is still starting up and has not been able to read a session key from the config topic yet".into(),
        });
    };
    let given = base64::engine::general_purpose::STANDARD
        .decode(signature.signature.trim())
        .map_err(|e| ConnectError::BadRequest(e.to_string()))?;
    let mut m = mac(key);
    m.update(body);
    m.verify_slice(&given).map_err(|_| ConnectError::Rest {
        status: 403,
        message: "Internal request contained invalid signature.".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(key: &[u8], body: &[u8]) -> InternalRequestSignature {
        InternalRequestSignature {
            algorithm: ALGORITHM.into(),
            signature: sign(key, body),
        }
    }

    #[test]
    fn a_signature_matches_rfc_4231_test_case_2() {
        // HMAC-SHA256("Jefe", "what do ya want for nothing?")
        let expected = "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=";
        assert_eq!(sign(b"Jefe", b"what do ya want for nothing?"), expected);
    }

    #[test]
    fn verification_answers_as_java_does() {
        let accepted = vec![ALGORITHM.to_string()];
        let key = new_key().expect("randomness");
        let body = br#"[{"task.class":"T"}]"#;
        assert!(verify(Some(&signed(&key, body)), &accepted, Some(&key), body).is_ok());

        let status = |r: ConnectResult<()>| r.expect_err("refused").http_status();
        assert_eq!(status(verify(None, &accepted, Some(&key), body)), 400);
        let mut other = signed(&key, body);
        other.algorithm = "HmacSHA512".into();
        assert_eq!(
            status(verify(Some(&other), &accepted, Some(&key), body)),
            400
        );
        assert_eq!(
            status(verify(Some(&signed(&key, body)), &accepted, None, body)),
            503
        );
        let tampered = br#"[{"task.class":"Evil"}]"#;
        assert_eq!(
            status(verify(
                Some(&signed(&key, body)),
                &accepted,
                Some(&key),
                tampered
            )),
            403
        );
        let wrong_key = new_key().expect("randomness");
        assert_eq!(
            status(verify(
                Some(&signed(&wrong_key, body)),
                &accepted,
                Some(&key),
                body
            )),
            403
        );
    }
}
