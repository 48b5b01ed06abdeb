//! The bucket: aws-sdk-s3 behind a few calls (whole objects, multipart
//! uploads, a start-up check), with errors classified once. Retryable
//! failures (throttling, 5xx, timeouts, connection errors) are retried with
//! backoff, first by the SDK (`s3.part.retries`), then here without end, so
//! an outage holds offsets back instead of failing the task; everything else
//! (access denied, missing bucket) fails the task with the reason.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, ObjectCannedAcl, ServerSideEncryption,
};
use aws_sdk_s3::Client;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use tokio::sync::mpsc;
use tracing::warn;

use crate::config::{Encryption, S3Config};

// Sets an object's server-side encryption on a put or on the creation of a
// multipart upload (their builders share the setters, not a trait).
macro_rules! encrypt {
    ($req:ident, $encryption:expr) => {
        match $encryption {
            Some(Encryption::Aes256) => {
                $req = $req.server_side_encryption(ServerSideEncryption::Aes256)
            }
            Some(Encryption::Kms(id)) => {
                $req = $req
                    .server_side_encryption(ServerSideEncryption::AwsKms)
                    .set_ssekms_key_id(id.clone())
            }
            Some(Encryption::Customer { key, md5 }) => {
                $req = $req
                    .sse_customer_algorithm("AES256")
                    .sse_customer_key(key)
                    .sse_customer_key_md5(md5)
            }
            None => {}
        }
    };
}
use rampart_core::connector::SinkRetries;
use rampart_core::ConnectError;

/// Whether an operation may succeed when retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Throttling, 5xx, timeouts, connection failures.
    Retryable,
    /// Access denied, missing bucket, bad request: retrying cannot help.
    Fatal,
}

/// A failed bucket operation.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct StorageError {
    /// Retryable or not.
    pub kind: ErrorKind,
    /// What failed and why.
    pub message: String,
}

impl From<StorageError> for ConnectError {
    fn from(e: StorageError) -> Self {
        match e.kind {
            ErrorKind::Retryable => ConnectError::Retriable(e.message),
            ErrorKind::Fatal => ConnectError::Connect(e.message),
        }
    }
}

const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// The bucket and how to reach it.
#[derive(Clone)]
pub struct Store {
    client: Client,
    bucket: String,
    encryption: Option<Encryption>,
    acl: Option<ObjectCannedAcl>,
    backoff: Duration,
    retries: Arc<SinkRetries>,
}

fn classify<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
    what: &str,
    bucket: &str,
    error: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> StorageError {
    let (kind, detail) = match &error {
        SdkError::ServiceError(e) => {
            let status = e.raw().status().as_u16();
            let code = e.err().code().unwrap_or("");
            let message = e.err().message().unwrap_or("");
            let kind = if status == 429
                || status >= 500
                || matches!(
                    code,
                    "SlowDown"
                        | "Throttling"
                        | "ThrottlingException"
                        | "RequestTimeout"
                        | "InternalError"
                ) {
                ErrorKind::Retryable
            } else {
                ErrorKind::Fatal
            };
            let detail = match (status, code) {
                (404, "NoSuchBucket") | (404, "NotFound") if what == "bucket check" => {
                    format!("bucket {bucket} does not exist; create it or fix s3.bucket.name")
                }
                (404, "NoSuchBucket") => {
                    format!("bucket {bucket} does not exist; create it or fix s3.bucket.name")
                }
                (403, _) => format!(
                    "access denied to bucket {bucket} ({code} {message}); check aws.access.key.id, aws.secret.access.key and the bucket policy"
                ),
                (301, _) => format!(
                    "bucket {bucket} is in another region; fix s3.region"
                ),
                _ => format!("status {status} {code} {message}"),
            };
            (kind, detail)
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => (
            ErrorKind::Retryable,
            aws_sdk_s3::error::DisplayErrorContext(&error).to_string(),
        ),
        _ => (
            ErrorKind::Fatal,
            aws_sdk_s3::error::DisplayErrorContext(&error).to_string(),
        ),
    };
    StorageError {
        kind,
        message: format!("s3 {what} failed: {detail}"),
    }
}

/// One part of a multipart upload, or its end.
pub enum PartMessage {
    /// A part (at least 5 MiB).
    Part(Vec<u8>),
    /// The last bytes; the upload is completed after them.
    Last(Vec<u8>),
}

impl Store {
    /// Connects to the configured bucket (no request is made yet).
    pub async fn connect(config: &S3Config) -> Self {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(http)
            .region(Region::new(config.region.clone()));
        if let Some((id, secret)) = &config.credentials {
            loader = loader.credentials_provider(Credentials::new(
                id.clone(),
                secret.clone(),
                None,
                None,
                "rampart-config",
            ));
        }
        let shared = loader.load().await;
        let retry = aws_sdk_s3::config::retry::RetryConfig::standard()
            .with_max_attempts(config.part_retries.saturating_add(1))
            .with_initial_backoff(config.retry_backoff.max(Duration::from_millis(1)));
        let mut builder = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(config.path_style)
            .retry_config(retry);
        if let Some(url) = &config.store_url {
            builder = builder.endpoint_url(url);
        }
        Store {
            client: Client::from_conf(builder.build()),
            bucket: config.bucket.clone(),
            encryption: config.encryption.clone(),
            acl: config.acl.as_deref().map(ObjectCannedAcl::from),
            backoff: config.retry_backoff.max(Duration::from_millis(10)),
            retries: Arc::default(),
        }
    }

    /// Requests retried after a retryable failure (the SDK's own quick
    /// retries within one request are not counted).
    pub fn retries(&self) -> Arc<SinkRetries> {
        self.retries.clone()
    }

    /// Checks that the bucket exists and is reachable with these credentials.
    pub async fn check(&self) -> Result<(), StorageError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("bucket check", &self.bucket, e))
    }

    // Retries retryable failures with a doubling backoff, without end; the
    // task's pending-upload limit turns a long outage into paused partitions.
    async fn retrying<T, F, Fut>(&self, what: &str, key: &str, mut f: F) -> Result<T, StorageError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, StorageError>>,
    {
        let mut backoff = self.backoff;
        loop {
            match f().await {
                Ok(v) => return Ok(v),
                Err(e) if e.kind == ErrorKind::Retryable => {
                    self.retries.retried();
                    warn!(error = %e, key, operation = what, ?backoff, "s3 request failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes a whole object. Its name and bytes are deterministic, so an
    /// existing object of that name (from a run that crashed before its
    /// offsets were committed) is simply replaced by the same bytes.
    pub async fn put(&self, key: &str, body: bytes::Bytes) -> Result<(), StorageError> {
        self.retrying("put object", key, || async {
            let mut req = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .body(ByteStream::from(body.clone()));
            encrypt!(req, &self.encryption);
            req = req.set_acl(self.acl.clone());
            req.send()
                .await
                .map(|_| ())
                .map_err(|e| classify(&format!("put of {key}"), &self.bucket, e))
        })
        .await
    }

    /// Runs one multipart upload fed by `parts`; completes it after
    /// [`PartMessage::Last`], aborts it if the channel closes before (the
    /// partition was revoked or the task stopped). Parts never become
    /// visible before completion, so no partial object is ever seen.
    pub async fn multipart(
        &self,
        key: &str,
        mut parts: mpsc::Receiver<PartMessage>,
    ) -> Result<(), StorageError> {
        let upload_id = self
            .retrying("create multipart upload", key, || async {
                let mut req = self
                    .client
                    .create_multipart_upload()
                    .bucket(&self.bucket)
                    .key(key);
                encrypt!(req, &self.encryption);
                req = req.set_acl(self.acl.clone());
                let out = req.send().await.map_err(|e| {
                    classify(
                        &format!("create multipart upload of {key}"),
                        &self.bucket,
                        e,
                    )
                })?;
                out.upload_id.ok_or_else(|| StorageError {
                    kind: ErrorKind::Retryable,
                    message: format!("s3 create multipart upload of {key} returned no upload id"),
                })
            })
            .await?;
        let result = self.upload_parts(key, &upload_id, &mut parts).await;
        if !matches!(result, Ok(true)) {
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&upload_id)
                .send()
                .await;
        }
        result.map(|_| ())
    }

    // Uploads parts until the last; Ok(false) when the feed ended early.
    async fn upload_parts(
        &self,
        key: &str,
        upload_id: &str,
        parts: &mut mpsc::Receiver<PartMessage>,
    ) -> Result<bool, StorageError> {
        let mut completed = Vec::new();
        while let Some(message) = parts.recv().await {
            let (body, last) = match message {
                PartMessage::Part(b) => (b, false),
                PartMessage::Last(b) => (b, true),
            };
            if !body.is_empty() || completed.is_empty() {
                let number = completed.len() as i32 + 1;
                let body = bytes::Bytes::from(body);
                let etag = self
                    .retrying("upload part", key, || async {
                        let mut req = self
                            .client
                            .upload_part()
                            .bucket(&self.bucket)
                            .key(key)
                            .upload_id(upload_id)
                            .part_number(number)
                            .body(ByteStream::from(body.clone()));
                        // S3 wants the SSE-C key with every part too.
                        if let Some(Encryption::Customer { key, md5 }) = &self.encryption {
                            req = req
                                .sse_customer_algorithm("AES256")
                                .sse_customer_key(key)
                                .sse_customer_key_md5(md5);
                        }
                        req.send().await.map(|o| o.e_tag).map_err(|e| {
                            classify(
                                &format!("upload of part {number} of {key}"),
                                &self.bucket,
                                e,
                            )
                        })
                    })
                    .await?;
                completed.push(
                    CompletedPart::builder()
                        .set_e_tag(etag)
                        .part_number(number)
                        .build(),
                );
            }
            if last {
                let upload = CompletedMultipartUpload::builder()
                    .set_parts(Some(completed.clone()))
                    .build();
                self.retrying("complete multipart upload", key, || async {
                    self.client
                        .complete_multipart_upload()
                        .bucket(&self.bucket)
                        .key(key)
                        .upload_id(upload_id)
                        .multipart_upload(upload.clone())
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| classify(&format!("completion of {key}"), &self.bucket, e))
                })
                .await?;
                return Ok(true);
            }
        }
        Ok(false)
    }
}
