//! Java Kafka clients' security settings (`security.protocol`, `ssl.*`,
//! `sasl.*`) translated into librdkafka's, so the worker and connector
//! configs users run with Java Connect secure Rampart's clients unchanged.
//!
//! A Java setting with no librdkafka equivalent is refused with the reason,
//! never dropped: an ignored `ssl.enabled.protocols` or trust store would
//! quietly weaken the connection. Keys Java does not define (librdkafka's
//! own, such as `ssl.ca.location`) pass through for users who know them.

use std::collections::BTreeMap;

use super::jaas::{self, JaasError};

/// Why a security setting cannot be used. Messages name the key, never a
/// secret value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecurityError {
    #[error("Invalid value {value} for configuration security.protocol: expected one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL")]
    Protocol { value: String },
    #[error("{key}={value} is not supported: Rampart reads PEM {what}s only. {how}")]
    StoreType {
        key: &'static str,
        value: String,
        what: &'static str,
        how: &'static str,
    },
    #[error("{key} cannot be specified with PEM format: {why}")]
    PemPassword {
        key: &'static str,
        why: &'static str,
    },
    #[error(
        "{0} requires ssl.{1}.type=PEM (Java's default type is JKS, which Rampart cannot read)"
    )]
    StoreWithoutType(&'static str, &'static str),
    #[error("Invalid value {value} for configuration ssl.endpoint.identification.algorithm: expected https or an empty string")]
    Endpoint { value: String },
    #[error("{key} is not supported: {why}")]
    Unsupported { key: String, why: &'static str },
    #[error("SASL mechanism {0} is not supported: Rampart supports PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER")]
    Mechanism(String),
    #[error("Invalid value for configuration sasl.jaas.config: {0}")]
    Jaas(#[from] JaasError),
    #[error("Invalid value for configuration sasl.jaas.config: login module {module} does not go with sasl.mechanism={mechanism}")]
    ModuleMismatch { module: String, mechanism: String },
    #[error("Invalid value for configuration sasl.jaas.config: {module} option {option} is not supported")]
    JaasOption { module: String, option: String },
    #[error(
        "Invalid value for configuration sasl.jaas.config: {module} needs the option {option}"
    )]
    JaasMissing {
        module: &'static str,
        option: &'static str,
    },
}

impl SecurityError {
    /// The Java setting the error is about, where it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            SecurityError::Protocol { .. } => Some("security.protocol"),
            SecurityError::StoreType { key, .. } | SecurityError::PemPassword { key, .. } => {
                Some(key)
            }
            SecurityError::StoreWithoutType(key, _) => Some(key),
            SecurityError::Endpoint { .. } => Some("ssl.endpoint.identification.algorithm"),
            SecurityError::Unsupported { key, .. } => Some(key),
            SecurityError::Mechanism(_) => Some("sasl.mechanism"),
            SecurityError::Jaas(_)
            | SecurityError::ModuleMismatch { .. }
            | SecurityError::JaasOption { .. }
            | SecurityError::JaasMissing { .. } => Some("sasl.jaas.config"),
        }
    }
}

const JKS_TRUST: &str = "Convert a JKS or PKCS12 trust store with `keytool -exportcert -rfc -keystore truststore.jks -alias <ca> -file ca.pem`, then set ssl.truststore.location=ca.pem and ssl.truststore.type=PEM.";
const JKS_KEY: &str = "Convert a JKS or PKCS12 key store with `keytool -importkeystore -srckeystore keystore.jks -destkeystore keystore.p12 -deststoretype PKCS12` and `openssl pkcs12 -in keystore.p12 -nodes -out keystore.pem` (the key, then the certificate chain, in one file), then set ssl.keystore.location=keystore.pem and ssl.keystore.type=PEM (the key may be encrypted with ssl.key.password).";

/// Whether a client key is one this module translates or refuses.
pub fn is_security_key(key: &str) -> bool {
    key == "security.protocol" || key.starts_with("ssl.") || key.starts_with("sasl.")
}

/// Java's ssl./sasl. client keys that have no librdkafka counterpart and
/// may be left at Java's default value. Any other value is refused.
const JAVA_DEFAULTS: &[(&str, &[&str], &str)] = &[
    (
        "ssl.protocol",
        &["TLSv1.3", "TLSv1.2", "TLS"],
        "OpenSSL negotiates TLS 1.2 or 1.3",
    ),
    (
        "ssl.enabled.protocols",
        &["TLSv1.2,TLSv1.3", "TLSv1.3,TLSv1.2"],
        "OpenSSL enables TLS 1.2 and 1.3; restricting them is not supported",
    ),
    ("ssl.provider", &[""], "TLS is OpenSSL's"),
    (
        "ssl.keymanager.algorithm",
        &["SunX509"],
        "Java key manager algorithms do not apply to OpenSSL",
    ),
    (
        "ssl.trustmanager.algorithm",
        &["PKIX"],
        "Java trust manager algorithms do not apply to OpenSSL",
    ),
    ("ssl.secure.random.implementation", &[""], "OpenSSL seeds its own random generator"),
    (
        "ssl.engine.factory.class",
        &[""],
        "Java SSL engine factories cannot be loaded",
    ),
    (
        "ssl.cipher.suites",
        &[""],
        "Java's cipher suite names differ from OpenSSL's; OpenSSL's defaults are used",
    ),
    ("sasl.client.callback.handler.class", &[""], "Java callback handlers cannot be loaded"),
    ("sasl.login.callback.handler.class", &[""], "Java callback handlers cannot be loaded"),
    ("sasl.login.class", &[""], "Java login classes cannot be loaded"),
    (
        "sasl.oauthbearer.token.endpoint.url",
        &[""],
        "OAUTHBEARER tokens from an OIDC token endpoint are not supported yet; unsecured JWTs (unsecuredLoginStringClaim_sub) are",
    ),
];

/// Java's remaining SASL login keys (Kerberos, OAuth token refresh and
/// validation): refused when set, as GSSAPI and OIDC are not supported.
const JAVA_SASL_PREFIXES: &[&str] = &["sasl.kerberos.", "sasl.login.", "sasl.oauthbearer."];

/// librdkafka's own `sasl.oauthbearer.*` keys, passed through as they are.
const RDKAFKA_OAUTHBEARER: &[&str] = &["sasl.oauthbearer.config"];

/// Translates the security settings of one client. `java` holds the merged
/// settings (worker, then `producer.`/`consumer.`/`admin.`, then the
/// connector's overrides); other keys in it are ignored here.
pub fn translate(java: &BTreeMap<String, String>) -> Result<Vec<(String, String)>, SecurityError> {
    let get = |k: &str| java.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let mut out: Vec<(String, String)> = Vec::new();

    if let Some(p) = get("security.protocol") {
        let upper = p.to_ascii_uppercase();
        if !["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"].contains(&upper.as_str()) {
            return Err(SecurityError::Protocol {
                value: p.to_string(),
            });
        }
        out.push(("security.protocol".into(), upper.to_ascii_lowercase()));
    }

    for (key, allowed, why) in JAVA_DEFAULTS {
        if let Some(v) = get(key) {
            let normalised: String = v.split(',').map(str::trim).collect::<Vec<_>>().join(",");
            if !allowed.contains(&normalised.as_str()) {
                return Err(SecurityError::Unsupported {
                    key: (*key).to_string(),
                    why,
                });
            }
        }
    }
    for key in java.keys() {
        let known = JAVA_DEFAULTS.iter().any(|(k, _, _)| k == key)
            || RDKAFKA_OAUTHBEARER.contains(&key.as_str());
        if !known && JAVA_SASL_PREFIXES.iter().any(|p| key.starts_with(p)) && get(key).is_some() {
            return Err(SecurityError::Unsupported {
                key: key.clone(),
                why: "Kerberos (GSSAPI) and OAuth token endpoints are not supported",
            });
        }
    }

    trust_store(java, &mut out)?;
    key_store(java, &mut out)?;

    if let Some(alg) = java.get("ssl.endpoint.identification.algorithm") {
        // Java turns hostname verification off with an empty value.
        let v = match alg.trim().to_ascii_lowercase().as_str() {
            "https" => "https",
            "" => "none",
            _ => return Err(SecurityError::Endpoint { value: alg.clone() }),
        };
        out.push(("ssl.endpoint.identification.algorithm".into(), v.into()));
    }

    sasl(java, &mut out)?;

    // librdkafka's own keys, which Java does not define, pass through.
    const HANDLED: &[&str] = &[
        "security.protocol",
        "ssl.truststore.type",
        "ssl.truststore.location",
        "ssl.truststore.password",
        "ssl.truststore.certificates",
        "ssl.keystore.type",
        "ssl.keystore.location",
        "ssl.keystore.password",
        "ssl.keystore.key",
        "ssl.keystore.certificate.chain",
        "ssl.key.password",
        "ssl.endpoint.identification.algorithm",
        "sasl.mechanism",
        "sasl.jaas.config",
    ];
    for (k, v) in java {
        if is_security_key(k)
            && !HANDLED.contains(&k.as_str())
            && !JAVA_DEFAULTS.iter().any(|(d, _, _)| d == k)
            && !JAVA_SASL_PREFIXES
                .iter()
                .any(|p| k.starts_with(p) && !RDKAFKA_OAUTHBEARER.contains(&k.as_str()))
            && !out.iter().any(|(o, _)| o == k)
        {
            out.push((k.clone(), v.clone()));
        }
    }
    Ok(out)
}

fn store_type(java: &BTreeMap<String, String>, key: &str) -> Option<String> {
    java.get(key)
        .map(|v| v.trim().to_ascii_uppercase())
        .filter(|v| !v.is_empty())
}

fn trust_store(
    java: &BTreeMap<String, String>,
    out: &mut Vec<(String, String)>,
) -> Result<(), SecurityError> {
    let location = java
        .get("ssl.truststore.location")
        .filter(|v| !v.trim().is_empty());
    let inline = java
        .get("ssl.truststore.certificates")
        .filter(|v| !v.trim().is_empty());
    match store_type(java, "ssl.truststore.type").as_deref() {
        Some("PEM") => {}
        Some(other) => {
            return Err(SecurityError::StoreType {
                key: "ssl.truststore.type",
                value: other.to_string(),
                what: "trust store",
                how: JKS_TRUST,
            })
        }
        None if location.is_some() => {
            return Err(SecurityError::StoreWithoutType(
                "ssl.truststore.location",
                "truststore",
            ))
        }
        None => {}
    }
    if java
        .get("ssl.truststore.password")
        .is_some_and(|p| !p.is_empty())
        && (location.is_some() || inline.is_some())
    {
        return Err(SecurityError::PemPassword {
            key: "ssl.truststore.password",
            why: "PEM trust stores are not protected by a password",
        });
    }
    if let Some(l) = location {
        out.push(("ssl.ca.location".into(), l.trim().to_string()));
    }
    if let Some(pem) = inline {
        out.push(("ssl.ca.pem".into(), pem.clone()));
    }
    Ok(())
}

fn key_store(
    java: &BTreeMap<String, String>,
    out: &mut Vec<(String, String)>,
) -> Result<(), SecurityError> {
    let location = java
        .get("ssl.keystore.location")
        .filter(|v| !v.trim().is_empty());
    let key = java
        .get("ssl.keystore.key")
        .filter(|v| !v.trim().is_empty());
    let chain = java
        .get("ssl.keystore.certificate.chain")
        .filter(|v| !v.trim().is_empty());
    match store_type(java, "ssl.keystore.type").as_deref() {
        Some("PEM") => {}
        Some(other) => {
            return Err(SecurityError::StoreType {
                key: "ssl.keystore.type",
                value: other.to_string(),
                what: "key store",
                how: JKS_KEY,
            })
        }
        None if location.is_some() => {
            return Err(SecurityError::StoreWithoutType(
                "ssl.keystore.location",
                "keystore",
            ))
        }
        None => {}
    }
    if java
        .get("ssl.keystore.password")
        .is_some_and(|p| !p.is_empty())
        && (location.is_some() || key.is_some())
    {
        return Err(SecurityError::PemPassword {
            key: "ssl.keystore.password",
            why: "only the key password (ssl.key.password) may be set",
        });
    }
    if let Some(l) = location {
        // A PEM key store is one file holding the key and its certificate
        // chain; OpenSSL picks each out of it by its PEM label.
        out.push(("ssl.key.location".into(), l.trim().to_string()));
        out.push(("ssl.certificate.location".into(), l.trim().to_string()));
    }
    if let Some(k) = key {
        out.push(("ssl.key.pem".into(), k.clone()));
    }
    if let Some(c) = chain {
        out.push(("ssl.certificate.pem".into(), c.clone()));
    }
    if let Some(p) = java.get("ssl.key.password").filter(|p| !p.is_empty()) {
        out.push(("ssl.key.password".into(), p.clone()));
    }
    Ok(())
}

fn sasl(
    java: &BTreeMap<String, String>,
    out: &mut Vec<(String, String)>,
) -> Result<(), SecurityError> {
    let protocol = java
        .get("security.protocol")
        .map(|p| p.trim().to_ascii_uppercase())
        .unwrap_or_default();
    let uses_sasl = protocol.starts_with("SASL_");
    let mechanism = java
        .get("sasl.mechanism")
        .map(|m| m.trim().to_ascii_uppercase())
        .filter(|m| !m.is_empty());
    if !uses_sasl && mechanism.is_none() && !java.contains_key("sasl.jaas.config") {
        return Ok(());
    }
    // Java's default mechanism is GSSAPI.
    let mechanism = mechanism.unwrap_or_else(|| "GSSAPI".to_string());
    if !["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"].contains(&mechanism.as_str()) {
        return Err(SecurityError::Mechanism(mechanism));
    }
    out.push(("sasl.mechanisms".into(), mechanism.clone()));
    let Some(text) = java
        .get("sasl.jaas.config")
        .filter(|t| !t.trim().is_empty())
    else {
        // librdkafka's own username and password keys may stand in.
        return Ok(());
    };
    let module = jaas::parse(text)?;
    let name = module.simple_name().to_string();
    let mismatch = || SecurityError::ModuleMismatch {
        module: name.clone(),
        mechanism: mechanism.clone(),
    };
    match name.as_str() {
        "PlainLoginModule" | "ScramLoginModule" => {
            let expected = if name == "PlainLoginModule" {
                mechanism == "PLAIN"
            } else {
                mechanism.starts_with("SCRAM-")
            };
            if !expected {
                return Err(mismatch());
            }
            let module_name = if name == "PlainLoginModule" {
                "PlainLoginModule"
            } else {
                "ScramLoginModule"
            };
            for option in module.options.keys() {
                // `tokenauth` marks delegation tokens, which librdkafka
                // sends as plain SCRAM credentials.
                if !["username", "password", "tokenauth"].contains(&option.as_str()) {
                    return Err(SecurityError::JaasOption {
                        module: name.clone(),
                        option: option.clone(),
                    });
                }
            }
            let user = module
                .options
                .get("username")
                .ok_or(SecurityError::JaasMissing {
                    module: module_name,
                    option: "username",
                })?;
            let password = module
                .options
                .get("password")
                .ok_or(SecurityError::JaasMissing {
                    module: module_name,
                    option: "password",
                })?;
            out.push(("sasl.username".into(), user.clone()));
            out.push(("sasl.password".into(), password.clone()));
        }
        "OAuthBearerLoginModule" => {
            if mechanism != "OAUTHBEARER" {
                return Err(mismatch());
            }
            out.push((
                "sasl.oauthbearer.config".into(),
                unsecured_jwt(&module.options)?,
            ));
            out.push(("enable.sasl.oauthbearer.unsecure.jwt".into(), "true".into()));
        }
        _ => return Err(mismatch()),
    }
    Ok(())
}

// Java's unsecured OAUTHBEARER login options, in librdkafka's
// `sasl.oauthbearer.config` syntax (space-separated `name=value`).
fn unsecured_jwt(
    options: &std::collections::HashMap<String, String>,
) -> Result<String, SecurityError> {
    let principal_claim = options
        .get("unsecuredLoginPrincipalClaimName")
        .cloned()
        .unwrap_or_else(|| "sub".to_string());
    let principal = options
        .get(&format!("unsecuredLoginStringClaim_{principal_claim}"))
        .ok_or(SecurityError::JaasMissing {
            module: "OAuthBearerLoginModule",
            option: "unsecuredLoginStringClaim_sub",
        })?;
    let mut parts = vec![
        format!("principalClaimName={principal_claim}"),
        format!("principal={principal}"),
    ];
    let mut keys: Vec<&String> = options.keys().collect();
    keys.sort();
    for key in keys {
        let value = &options[key];
        if key == "unsecuredLoginPrincipalClaimName"
            || *key == format!("unsecuredLoginStringClaim_{principal_claim}")
        {
            continue;
        } else if key == "unsecuredLoginLifetimeSeconds" {
            parts.push(format!("lifeSeconds={value}"));
        } else if key == "unsecuredLoginScopeClaimName" {
            parts.push(format!("scopeClaimName={value}"));
        } else if let Some(ext) = key.strip_prefix("unsecuredLoginExtension_") {
            parts.push(format!("extension_{ext}={value}"));
        } else {
            return Err(SecurityError::JaasOption {
                module: "OAuthBearerLoginModule".to_string(),
                option: key.clone(),
            });
        }
    }
    Ok(parts.join(" "))
}

#[cfg(test)]
mod tests;
