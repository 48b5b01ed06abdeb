//! Cross-cutting HTTP behaviour: trailing slashes, CORS, basic auth.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use crate::error::ApiError;

/// Treats `/x/` as `/x`, as clients such as kcctl rely on.
pub fn strip_trailing_slash(mut req: Request) -> Request {
    let path = req.uri().path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/');
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let pq = match req.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_string(),
        };
        if let Ok(uri) = pq.parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
    req
}

/// `access.control.allow.origin` / `access.control.allow.methods`.
#[derive(Debug, Clone, Default)]
pub struct Cors {
    /// Allowed origin (`*` or a URL); empty disables CORS headers.
    pub allow_origin: String,
    /// Allowed methods (default GET,POST,HEAD).
    pub allow_methods: String,
}

pub(crate) async fn cors(State(cors): State<Arc<Cors>>, req: Request, next: Next) -> Response {
    if cors.allow_origin.is_empty() {
        return next.run(req).await;
    }
    let methods = if cors.allow_methods.is_empty() {
        "GET,POST,HEAD"
    } else {
        cors.allow_methods.as_str()
    };
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut resp = if preflight {
        StatusCode::OK.into_response()
    } else {
        next.run(req).await
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&cors.allow_origin) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    if let Ok(v) = HeaderValue::from_str(methods) {
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v);
    }
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("X-Requested-With,Content-Type,Accept,Origin,Authorization"),
    );
    resp
}

/// Answers `OPTIONS` on a resource as Jersey does for Kafka Connect: 200
/// with the resource's methods in `Allow` (and, for a plain-text client,
/// in the body). A path no route serves stays a 404.
pub(crate) async fn options(req: Request, next: Next) -> Response {
    if req.method() != Method::OPTIONS {
        return next.run(req).await;
    }
    let json = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.trim().eq_ignore_ascii_case("application/json"));
    let resp = next.run(req).await;
    let allowed = match resp.headers().get(header::ALLOW) {
        Some(a) if resp.status() == StatusCode::METHOD_NOT_ALLOWED => a.to_str().unwrap_or(""),
        _ => return resp,
    };
    let mut methods: Vec<&str> = allowed.split(',').map(str::trim).collect();
    methods.push("OPTIONS");
    let (content_type, body) = if json {
        ("application/json", String::new())
    } else {
        ("text/plain", methods.join(", "))
    };
    let mut out = (StatusCode::OK, body).into_response();
    let h = out.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&methods.join(",")) {
        h.insert(header::ALLOW, v);
    }
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    out
}

/// HTTP basic credentials, from a file of `user: password` lines (the
/// format of Kafka's `PropertyFileLoginModule`).
#[derive(Debug, Clone, Default)]
pub struct BasicAuth {
    users: HashMap<String, String>,
}

impl BasicAuth {
    /// Parses the credentials file content.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut users = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (u, p) = line
                .split_once(':')
                .or_else(|| line.split_once('='))
                .ok_or_else(|| {
                    format!("credentials file line {}: expected 'user: password'", i + 1)
                })?;
            users.insert(u.trim().to_string(), p.trim().to_string());
        }
        if users.is_empty() {
            return Err("credentials file has no users".to_string());
        }
        Ok(BasicAuth { users })
    }

    fn check(&self, header: Option<&HeaderValue>) -> bool {
        let Some(encoded) = header
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Basic "))
        else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
            return false;
        };
        let Ok(text) = String::from_utf8(decoded) else {
            return false;
        };
        let Some((user, pass)) = text.split_once(':') else {
            return false;
        };
        self.users
            .get(user)
            .is_some_and(|p| constant_time_eq(p.as_bytes(), pass.as_bytes()))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(crate) async fn basic_auth(
    State(auth): State<Arc<BasicAuth>>,
    req: Request<Body>,
    next: Next,
) -> Response {
    // CORS preflights carry no credentials.
    if req.method() == Method::OPTIONS || auth.check(req.headers().get(header::AUTHORIZATION)) {
        return next.run(req).await;
    }
    let mut resp =
        ApiError::new(StatusCode::UNAUTHORIZED, "User cannot access the resource.").into_response();
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"rampart\""),
    );
    resp
}
