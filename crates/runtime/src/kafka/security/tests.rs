#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use super::*;

fn java(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn rdkafka(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    translate(&java(pairs)).unwrap().into_iter().collect()
}

#[test]
fn confluent_cloud_style_sasl_ssl_plain() {
    let out = rdkafka(&[
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "PLAIN"),
        (
            "sasl.jaas.config",
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="KEY" password="SECRET";"#,
        ),
        ("ssl.endpoint.identification.algorithm", "https"),
    ]);
    assert_eq!(out["security.protocol"], "sasl_ssl");
    assert_eq!(out["sasl.mechanisms"], "PLAIN");
    assert_eq!(out["sasl.username"], "KEY");
    assert_eq!(out["sasl.password"], "SECRET");
    assert_eq!(out["ssl.endpoint.identification.algorithm"], "https");
    assert!(!out.contains_key("sasl.jaas.config"));
}

#[test]
fn scram_with_a_pem_trust_store() {
    let out = rdkafka(&[
        ("security.protocol", "sasl_ssl"),
        ("sasl.mechanism", "SCRAM-SHA-512"),
        (
            "sasl.jaas.config",
            r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="a";"#,
        ),
        ("ssl.truststore.type", "PEM"),
        ("ssl.truststore.location", "/etc/ca.pem"),
    ]);
    assert_eq!(out["sasl.mechanisms"], "SCRAM-SHA-512");
    assert_eq!(out["ssl.ca.location"], "/etc/ca.pem");
    assert!(!out.keys().any(|k| k.starts_with("ssl.truststore")));
}

#[test]
fn mutual_tls_with_a_pem_key_store_file_or_inline_pems() {
    let out = rdkafka(&[
        ("security.protocol", "SSL"),
        ("ssl.keystore.type", "PEM"),
        ("ssl.keystore.location", "/etc/client-keystore.pem"),
        ("ssl.key.password", "kp"),
        ("ssl.truststore.type", "PEM"),
        (
            "ssl.truststore.certificates",
            "-----BEGIN CERTIFICATE-----...",
        ),
    ]);
    assert_eq!(out["ssl.key.location"], "/etc/client-keystore.pem");
    assert_eq!(out["ssl.certificate.location"], "/etc/client-keystore.pem");
    assert_eq!(out["ssl.key.password"], "kp");
    assert_eq!(out["ssl.ca.pem"], "-----BEGIN CERTIFICATE-----...");

    let out = rdkafka(&[
        ("ssl.keystore.type", "PEM"),
        ("ssl.keystore.key", "-----BEGIN PRIVATE KEY-----..."),
        (
            "ssl.keystore.certificate.chain",
            "-----BEGIN CERTIFICATE-----...",
        ),
    ]);
    assert_eq!(out["ssl.key.pem"], "-----BEGIN PRIVATE KEY-----...");
    assert_eq!(out["ssl.certificate.pem"], "-----BEGIN CERTIFICATE-----...");
}

#[test]
fn jks_and_pkcs12_stores_are_refused_with_how_to_convert() {
    for (key, ty) in [
        ("ssl.truststore.type", "JKS"),
        ("ssl.truststore.type", "PKCS12"),
        ("ssl.keystore.type", "jks"),
        ("ssl.keystore.type", "PKCS12"),
    ] {
        let err = translate(&java(&[(key, ty), ("security.protocol", "SSL")])).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(key), "{msg}");
        assert!(msg.contains("keytool"), "{msg}");
        assert!(msg.contains("=PEM"), "{msg}");
    }
    // A location without a type is Java's JKS default.
    let err = translate(&java(&[("ssl.truststore.location", "/x.jks")])).unwrap_err();
    assert!(err.to_string().contains("ssl.truststore.type=PEM"), "{err}");
}

#[test]
fn pem_store_passwords_are_refused_as_java_does() {
    let err = translate(&java(&[
        ("ssl.keystore.type", "PEM"),
        ("ssl.keystore.location", "/k.pem"),
        ("ssl.keystore.password", "p"),
    ]))
    .unwrap_err();
    assert!(err.to_string().contains("ssl.keystore.password"));
    assert!(!err.to_string().contains("=p"));
}

#[test]
fn empty_endpoint_identification_turns_hostname_checks_off() {
    let out = rdkafka(&[("ssl.endpoint.identification.algorithm", "")]);
    assert_eq!(out["ssl.endpoint.identification.algorithm"], "none");
    assert!(translate(&java(&[("ssl.endpoint.identification.algorithm", "ldap")])).is_err());
}

#[test]
fn unsecured_oauthbearer_becomes_librdkafkas_unsecured_jwt() {
    let out = rdkafka(&[
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "OAUTHBEARER"),
        (
            "sasl.jaas.config",
            r#"org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="alice" unsecuredLoginLifetimeSeconds="600" unsecuredLoginExtension_traceId="42";"#,
        ),
    ]);
    assert_eq!(
        out["sasl.oauthbearer.config"],
        "principalClaimName=sub principal=alice extension_traceId=42 lifeSeconds=600"
    );
    assert_eq!(out["enable.sasl.oauthbearer.unsecure.jwt"], "true");
}

#[test]
fn settings_without_an_equivalent_are_refused_not_ignored() {
    for (key, value) in [
        ("ssl.enabled.protocols", "TLSv1.3"),
        ("ssl.cipher.suites", "TLS_AES_128_GCM_SHA256"),
        ("ssl.engine.factory.class", "com.example.Factory"),
        ("sasl.kerberos.service.name", "kafka"),
        ("sasl.login.refresh.buffer.seconds", "60"),
        ("sasl.oauthbearer.token.endpoint.url", "https://idp/token"),
        ("sasl.login.callback.handler.class", "x.Handler"),
    ] {
        let err = translate(&java(&[(key, value)])).unwrap_err();
        assert!(err.to_string().contains(key), "{key}: {err}");
    }
    // Java's defaults, as people copy them, are accepted.
    rdkafka(&[
        ("ssl.enabled.protocols", "TLSv1.2, TLSv1.3"),
        ("ssl.protocol", "TLSv1.3"),
        ("ssl.keymanager.algorithm", "SunX509"),
        ("ssl.trustmanager.algorithm", "PKIX"),
        ("ssl.cipher.suites", ""),
    ]);
}

#[test]
fn gssapi_is_refused_and_is_javas_default_mechanism() {
    let err = translate(&java(&[("security.protocol", "SASL_PLAINTEXT")])).unwrap_err();
    assert_eq!(err, SecurityError::Mechanism("GSSAPI".into()));
}

#[test]
fn a_login_module_must_match_the_mechanism() {
    let err = translate(&java(&[
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "SCRAM-SHA-256"),
        (
            "sasl.jaas.config",
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="secret-pw";"#,
        ),
    ]))
    .unwrap_err();
    assert!(matches!(err, SecurityError::ModuleMismatch { .. }));
    assert!(!err.to_string().contains("secret-pw"));

    let err = translate(&java(&[
        ("sasl.mechanism", "PLAIN"),
        (
            "sasl.jaas.config",
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="u";"#,
        ),
    ]))
    .unwrap_err();
    assert!(err.to_string().contains("password"), "{err}");
}

#[test]
fn librdkafka_native_keys_pass_through() {
    let out = rdkafka(&[
        ("ssl.ca.location", "/ca.pem"),
        ("sasl.username", "u"),
        ("sasl.oauthbearer.config", "principal=x"),
    ]);
    assert_eq!(out["ssl.ca.location"], "/ca.pem");
    assert_eq!(out["sasl.username"], "u");
    assert_eq!(out["sasl.oauthbearer.config"], "principal=x");
}

#[test]
fn bad_protocol_is_refused() {
    assert!(matches!(
        translate(&java(&[("security.protocol", "TLS")])),
        Err(SecurityError::Protocol { .. })
    ));
}
