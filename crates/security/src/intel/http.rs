//! Fetching a feed over HTTP(S): conditional GETs (RFC 9110 §13: the
//! `ETag` back as `If-None-Match`, `Last-Modified` as `If-Modified-Since`)
//! so an unchanged feed costs a 304, and a body read with a size cap.
//!
//! Runs on the source's own thread, on a current-thread runtime of its
//! own: transforms are synchronous and may be built inside the worker's
//! runtime, where blocking on another would panic.

use std::time::Duration;

use reqwest::header::{
    HeaderName, HeaderValue, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
};
use reqwest::StatusCode;

use super::source::{redact_url, SourceError, SourceSpec};

/// The validators of the body last loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HttpVersion {
    etag: Option<String>,
    last_modified: Option<String>,
}

pub(crate) struct HttpLoader {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    url: String,
    shown: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    max_bytes: u64,
    version: HttpVersion,
}

impl HttpLoader {
    pub(crate) fn new(url: &str, spec: &SourceSpec) -> Result<Self, SourceError> {
        let shown = redact_url(url);
        let fail = |error: String| SourceError::Http {
            url: shown.clone(),
            error,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| fail(format!("cannot start http runtime: {e}")))?;
        let client = reqwest::Client::builder()
            .timeout(spec.http_timeout)
            .connect_timeout(spec.http_timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("rampart-threat-intel/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| fail(e.without_url().to_string()))?;
        // Names and values were checked when the config was parsed.
        let headers = spec
            .http_headers
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    HeaderName::from_bytes(k.as_bytes()).ok()?,
                    HeaderValue::from_str(v).ok()?,
                ))
            })
            .collect();
        Ok(HttpLoader {
            runtime,
            client,
            url: url.to_string(),
            shown,
            headers,
            max_bytes: spec.max_bytes,
            version: HttpVersion::default(),
        })
    }

    /// The body and its validators, or `None` on 304 Not Modified.
    pub(crate) fn fetch(&mut self) -> Result<Option<(Vec<u8>, HttpVersion)>, SourceError> {
        let this = &*self;
        this.runtime.block_on(async {
            let fail = |e: reqwest::Error| SourceError::Http {
                url: this.shown.clone(),
                error: e.without_url().to_string(),
            };
            let mut request = this.client.get(&this.url);
            for (name, value) in &this.headers {
                request = request.header(name, value);
            }
            if let Some(etag) = &this.version.etag {
                request = request.header(IF_NONE_MATCH, etag);
            }
            if let Some(modified) = &this.version.last_modified {
                request = request.header(IF_MODIFIED_SINCE, modified);
            }
            let mut response = request.send().await.map_err(fail)?;
            let status = response.status();
            if status == StatusCode::NOT_MODIFIED {
                return Ok(None);
            }
            if !status.is_success() {
                return Err(SourceError::Status {
                    url: this.shown.clone(),
                    status: status.as_u16(),
                });
            }
            let too_large = || SourceError::TooLarge {
                source_name: this.shown.clone(),
                max: this.max_bytes,
            };
            if response
                .content_length()
                .is_some_and(|n| n > this.max_bytes)
            {
                return Err(too_large());
            }
            let header = |name| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v: &HeaderValue| v.to_str().ok())
                    .map(str::to_string)
            };
            let version = HttpVersion {
                etag: header(ETAG),
                last_modified: header(LAST_MODIFIED),
            };
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(fail)? {
                if (body.len() + chunk.len()) as u64 > this.max_bytes {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Some((body, version)))
        })
    }

    /// Sends these validators from now on.
    pub(crate) fn mark(&mut self, version: HttpVersion) {
        self.version = version;
    }
}
