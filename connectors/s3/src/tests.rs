//! Config parsing and validation.

use rampart_core::connector::{Config, Connector as _};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::any;
use axum::Router;

use crate::config::{def, Format, S3Config};
use crate::storage::{ErrorKind, Store};
use crate::S3SinkConnector;

fn config(extra: &[(&str, &str)]) -> Config {
    let mut c: Config = [
        ("connector.class", "io.confluent.connect.s3.S3SinkConnector"),
        ("topics", "logs"),
        ("s3.bucket.name", "archive"),
        ("storage.class", "io.confluent.connect.s3.storage.S3Storage"),
        (
            "format.class",
            "io.confluent.connect.s3.format.json.JsonFormat",
        ),
        ("flush.size", "1000"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        c.insert(k.to_string(), v.to_string());
    }
    c
}

#[test]
fn confluent_defaults_apply() {
    let c = S3Config::parse(&config(&[])).unwrap();
    assert_eq!(c.region, "us-west-2");
    assert_eq!(c.part_size, 26_214_400);
    assert_eq!(c.naming.topics_dir, "topics");
    assert_eq!(c.naming.zero_pad, 10);
    assert_eq!(c.format, Format::Json { gzip: false });
    assert_eq!(c.rotate_interval_ms, None);
    assert!(c.credentials.is_none());
    assert!(!c.ignore_nulls);
    let gz = S3Config::parse(&config(&[("s3.compression.type", "gzip")])).unwrap();
    assert_eq!(gz.naming.extension, ".json.gz");
}

fn error_of(extra: &[(&str, &str)]) -> String {
    let c = config(extra);
    let values = S3SinkConnector::default().validate(&def(), &c);
    values
        .into_iter()
        .flat_map(|v| v.errors)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn unsupported_settings_fail_validation_with_a_reason() {
    let e = error_of(&[(
        "format.class",
        "io.confluent.connect.s3.format.avro.AvroFormat",
    )]);
    assert!(e.contains("unsupported format"), "{e}");
    let e = error_of(&[
        ("store.kafka.keys", "true"),
        (
            "keys.format.class",
            "io.confluent.connect.s3.format.parquet.ParquetFormat",
        ),
    ]);
    assert!(e.contains("unsupported keys format"), "{e}");
    let e = error_of(&[
        ("store.kafka.headers", "true"),
        (
            "headers.format.class",
            "io.confluent.connect.s3.format.bytearray.ByteArrayFormat",
        ),
    ]);
    assert!(e.contains("unsupported headers format"), "{e}");
    let e = error_of(&[("partitioner.class", "com.example.MyPartitioner")]);
    assert!(e.contains("unsupported partitioner"), "{e}");
    let e = error_of(&[("s3.part.size", "1000")]);
    assert!(e.contains("at least 5242880"), "{e}");
}

#[test]
fn keys_and_headers_formats_default_to_the_data_format_family() {
    let off = S3Config::parse(&config(&[])).unwrap();
    assert_eq!((off.keys, off.headers), (None, None));
    let on = [
        ("store.kafka.keys", "true"),
        ("store.kafka.headers", "true"),
    ];
    let json = S3Config::parse(&config(&[on[0], on[1], ("s3.compression.type", "gzip")])).unwrap();
    assert_eq!(json.keys, Some(Format::Json { gzip: true }));
    assert_eq!(json.headers, Some(Format::Json { gzip: true }));
    let parquet = S3Config::parse(&config(&[
        on[0],
        on[1],
        (
            "format.class",
            "io.confluent.connect.s3.format.parquet.ParquetFormat",
        ),
    ]))
    .unwrap();
    assert_eq!(parquet.keys, Some(Format::Json { gzip: false }));
    assert_eq!(parquet.headers, Some(Format::Json { gzip: false }));
    let bytes = S3Config::parse(&config(&[
        on[0],
        on[1],
        (
            "format.class",
            "io.confluent.connect.s3.format.bytearray.ByteArrayFormat",
        ),
    ]))
    .unwrap();
    assert!(matches!(bytes.keys, Some(Format::ByteArray { .. })));
    assert_eq!(bytes.headers, Some(Format::Json { gzip: false }));
    assert_eq!(error_of(&[on[0], on[1]]), "");
}

#[test]
fn time_based_partitioners_need_their_keys() {
    let hourly = [(
        "partitioner.class",
        "io.confluent.connect.storage.partitioner.HourlyPartitioner",
    )];
    assert!(error_of(&hourly).contains("locale"));
    let e = error_of(&[hourly[0], ("locale", "en-US"), ("timezone", "Mars/Base")]);
    assert!(e.contains("IANA"), "{e}");
    assert_eq!(
        error_of(&[hourly[0], ("locale", "en-US"), ("timezone", "UTC")]),
        ""
    );
    let e = error_of(&[
        (
            "partitioner.class",
            "io.confluent.connect.storage.partitioner.TimeBasedPartitioner",
        ),
        ("locale", "en-US"),
        ("timezone", "UTC"),
        ("path.format", "YYYY/EEE"),
        ("partition.duration.ms", "3600000"),
    ]);
    assert!(e.contains("pattern letter E"), "{e}");
}

#[test]
fn credentials_come_in_pairs() {
    assert!(error_of(&[("aws.access.key.id", "AKIA")]).contains("without a secret"));
    let c = S3Config::parse(&config(&[
        ("aws.access.key.id", "AKIA"),
        ("aws.secret.access.key", "s"),
    ]))
    .unwrap();
    assert_eq!(c.credentials, Some(("AKIA".to_string(), "s".to_string())));
}

/// A TEST SERVER standing in for S3: answers each request with the next
/// (status, error code) of `script`, then 200 forever, and counts requests.
async fn scripted_s3(script: Vec<(u16, &'static str)>) -> (String, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    let script = Arc::new(script);
    let app = Router::new().fallback(any(move || {
        let (seen, script) = (Arc::clone(&seen), Arc::clone(&script));
        async move {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            match script.get(n) {
                Some((status, code)) => (
                    StatusCode::from_u16(*status).unwrap(),
                    [("content-type", "application/xml")],
                    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{code} from the test server</Message></Error>"),
                ),
                None => (StatusCode::OK, [("content-type", "application/xml")], String::new()),
            }
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), count)
}

async fn store(url: &str) -> Store {
    let c = config(&[
        ("store.url", url),
        ("s3.region", "us-east-1"),
        ("aws.access.key.id", "test"),
        ("aws.secret.access.key", "test"),
        ("s3.retry.backoff.ms", "1"),
    ]);
    Store::connect(&S3Config::parse(&c).unwrap()).await
}

#[tokio::test]
async fn throttling_and_5xx_are_retried_until_the_put_succeeds() {
    let (url, count) = scripted_s3(vec![
        (503, "SlowDown"),
        (500, "InternalError"),
        (503, "SlowDown"),
        (503, "SlowDown"),
        (503, "SlowDown"),
        (429, "TooManyRequests"),
    ])
    .await;
    let s = store(&url).await;
    s.put(
        "topics/t/partition=0/t+0+0000000000.json",
        bytes::Bytes::from_static(b"{}\n"),
    )
    .await
    .unwrap();
    // Past the SDK's own attempts (s3.part.retries + 1), the sink goes on.
    assert_eq!(count.load(Ordering::SeqCst), 7);
}

#[tokio::test]
async fn access_denied_and_missing_buckets_are_fatal_with_the_reason() {
    let (url, count) = scripted_s3(vec![(403, "AccessDenied")]).await;
    let e = store(&url)
        .await
        .put("k", bytes::Bytes::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Fatal);
    assert!(e.message.contains("access denied to bucket archive"), "{e}");
    assert_eq!(count.load(Ordering::SeqCst), 1, "no retry");

    let (url, _) = scripted_s3(vec![(404, "NoSuchBucket")]).await;
    let e = store(&url)
        .await
        .put("k", bytes::Bytes::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Fatal);
    assert!(e.message.contains("bucket archive does not exist"), "{e}");

    let (url, _) = scripted_s3(vec![(404, "")]).await;
    let e = store(&url).await.check().await.unwrap_err();
    assert!(e.message.contains("bucket archive does not exist"), "{e}");
}

#[tokio::test]
async fn a_store_away_at_start_is_waited_for_and_a_refusal_fails_the_start() {
    let start = |url: String| async move {
        let c = config(&[
            ("store.url", &url),
            ("s3.region", "us-east-1"),
            ("aws.access.key.id", "test"),
            ("aws.secret.access.key", "test"),
            ("s3.retry.backoff.ms", "1"),
        ]);
        let mut task = crate::task::S3SinkTask::default();
        let context = rampart_core::connector::SinkTaskContext {
            errant_record_reporter: None,
        };
        rampart_core::connector::SinkTask::start(&mut task, &c, context).await
    };
    // Nothing but 503s: the check can only fail, and the start goes on.
    let (url, count) = scripted_s3(vec![(503, "SlowDown"); 1000]).await;
    start(url).await.expect("started while the store is away");
    let checks = count.load(Ordering::SeqCst);
    assert!(
        (1..=4).contains(&checks),
        "the bucket was checked with the SDK's attempts (s3.part.retries + 1), no more: {checks}"
    );

    let (url, _) = scripted_s3(vec![(403, "AccessDenied")]).await;
    let e = start(url).await.expect_err("access denied fails the start");
    assert!(!e.is_retriable(), "{e:?}");
    assert!(
        e.to_string().contains("access denied to bucket archive"),
        "{e}"
    );
}

#[test]
fn storage_errors_keep_their_kind_as_connect_errors() {
    use crate::storage::StorageError;
    let e = |kind| {
        rampart_core::ConnectError::from(StorageError {
            kind,
            message: "m".into(),
        })
    };
    assert!(e(ErrorKind::Retryable).is_retriable());
    assert!(matches!(
        e(ErrorKind::Fatal),
        rampart_core::ConnectError::Connect(m) if m == "m"
    ));
}

// Bytes 0..32 and their MD5, computed apart (Python's hashlib).
const SSE_C_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const SSE_C_MD5: &str = "tP/LI3N87DFaSk0aoqYgzg==";

#[test]
fn sse_c_keys_are_checked_and_exclusive() {
    let c = S3Config::parse(&config(&[("s3.sse.customer.key", SSE_C_KEY)])).unwrap();
    assert_eq!(
        c.encryption,
        Some(crate::config::Encryption::Customer {
            key: SSE_C_KEY.to_string(),
            md5: SSE_C_MD5.to_string()
        })
    );
    for short in ["AAECAwQ=", "not base64!"] {
        let e = error_of(&[("s3.sse.customer.key", short)]);
        assert!(e.contains("256 bits (32 bytes), base64-encoded"), "{e}");
        assert!(!e.contains(short), "the key is not echoed: {e}");
    }
    let e = error_of(&[
        ("s3.sse.customer.key", SSE_C_KEY),
        ("s3.ssea.name", "aws:kms"),
    ]);
    assert!(e.contains("one kind of server-side encryption"), "{e}");
}

type Recorded = Arc<std::sync::Mutex<Vec<(String, String, axum::http::HeaderMap)>>>;

/// A TEST SERVER standing in for S3's write calls, as its API reference
/// describes them: CreateMultipartUpload answers an UploadId, UploadPart an
/// ETag. It records each request's method, query and headers.
async fn recording_s3() -> (String, Recorded) {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let app = Router::new().fallback(any(move |req: axum::extract::Request| {
        let log = Arc::clone(&log);
        async move {
            let query = req.uri().query().unwrap_or_default().to_string();
            log.lock()
                .unwrap()
                .push((req.method().to_string(), query.clone(), req.headers().clone()));
            let xml = [("content-type", "application/xml"), ("etag", "\"e\"")];
            if query.contains("uploads") {
                (StatusCode::OK, xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><InitiateMultipartUploadResult><Bucket>archive</Bucket><Key>k</Key><UploadId>u1</UploadId></InitiateMultipartUploadResult>".to_string())
            } else if query.contains("uploadId") && req.method() == axum::http::Method::POST {
                (StatusCode::OK, xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CompleteMultipartUploadResult><Bucket>archive</Bucket><Key>k</Key><ETag>\"e-2\"</ETag></CompleteMultipartUploadResult>".to_string())
            } else {
                (StatusCode::OK, xml, String::new())
            }
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), seen)
}

// A put, a multipart upload of two parts; every request the server saw.
async fn write_both_ways(extra: &[(&str, &str)]) -> Vec<(String, String, axum::http::HeaderMap)> {
    let (url, seen) = recording_s3().await;
    let mut settings = vec![
        ("store.url", url.as_str()),
        ("s3.region", "us-east-1"),
        ("aws.access.key.id", "test"),
        ("aws.secret.access.key", "test"),
    ];
    settings.extend_from_slice(extra);
    let s = Store::connect(&S3Config::parse(&config(&settings)).unwrap()).await;
    s.put("whole.json", bytes::Bytes::from_static(b"{}\n"))
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tx.send(crate::storage::PartMessage::Part(vec![b'a'; 16]))
        .await
        .unwrap();
    tx.send(crate::storage::PartMessage::Last(vec![b'b'; 16]))
        .await
        .unwrap();
    s.multipart("parts.json", rx).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    seen
}

fn header(headers: &axum::http::HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn sse_c_goes_with_every_write_of_an_object_and_its_parts() {
    let seen = write_both_ways(&[("s3.sse.customer.key", SSE_C_KEY)]).await;
    let writes: Vec<_> = seen
        .iter()
        .filter(|(method, query, _)| {
            // Completing an upload carries no data, and S3 takes no key there.
            !(method == "POST" && query.contains("uploadId"))
        })
        .collect();
    assert_eq!(
        writes.len(),
        4,
        "a put, a multipart creation and two parts: {seen:?}"
    );
    for (method, query, headers) in writes {
        let sse = [
            "x-amz-server-side-encryption-customer-algorithm",
            "x-amz-server-side-encryption-customer-key",
            "x-amz-server-side-encryption-customer-key-md5",
        ]
        .map(|h| header(headers, h));
        assert_eq!(sse, ["AES256", SSE_C_KEY, SSE_C_MD5], "{method} ?{query}");
    }
}

#[tokio::test]
async fn a_canned_acl_goes_with_every_object() {
    let seen = write_both_ways(&[("s3.acl.canned", "bucket-owner-full-control")]).await;
    // The ACL belongs to the object: on the put and the upload's creation.
    let creating: Vec<_> = seen
        .iter()
        .filter(|(method, query, _)| {
            (method == "PUT" && !query.contains("partNumber"))
                || (method == "POST" && query.contains("uploads"))
        })
        .collect();
    assert_eq!(creating.len(), 2, "{seen:?}");
    for (method, query, headers) in creating {
        assert_eq!(
            header(headers, "x-amz-acl"),
            "bucket-owner-full-control",
            "{method} ?{query}"
        );
    }
    assert!(error_of(&[("s3.acl.canned", "everyone")]).contains("s3.acl.canned"));
}

#[test]
fn settings_rampart_cannot_honour_are_refused_unless_left_at_their_default() {
    for (key, value) in [
        ("s3.object.tagging", "true"),
        ("s3.proxy.url", "http://proxy:3128"),
        ("s3.wan.mode", "true"),
        ("enable.conditional.writes", "true"),
        (
            "s3.credentials.provider.class",
            "io.confluent.connect.s3.auth.AwsAssumeRoleCredentialsProvider",
        ),
    ] {
        let e = error_of(&[(key, value)]);
        assert!(
            e.contains(&format!("configuration {key}:")) && e.contains("not supported"),
            "{key}: {e}"
        );
    }
    let e = error_of(&[("s3.proxy.password", "hunter2")]);
    assert!(
        e.contains("s3.proxy.password") && !e.contains("hunter2"),
        "{e}"
    );
    // Java's defaults, written out, are accepted.
    let defaults = [
        ("s3.object.tagging", "false"),
        ("s3.proxy.url", ""),
        ("s3.wan.mode", "FALSE"),
        ("enable.conditional.writes", "false"),
        (
            "s3.credentials.provider.class",
            "com.amazonaws.auth.DefaultAWSCredentialsProviderChain",
        ),
    ];
    assert_eq!(error_of(&defaults), "");
}
