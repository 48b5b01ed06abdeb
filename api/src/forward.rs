//! Requests that must run on another worker of a cluster (the leader, or
//! the owner of a connector) are forwarded there, as Java's
//! `HerderRequestHandler` does: the first worker forwards with
//! `?forward=true`, the next with `forward=false`, and a worker asked not
//! to forward answers 409, since the cluster is rebalancing.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

// Config bodies are small; this only bounds what one request may buffer.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Marks a response whose request belongs to the worker at this URL.
#[derive(Debug, Clone)]
pub(crate) struct ForwardTo(pub(crate) String);

/// The HTTP client requests are forwarded with.
#[derive(Debug, Clone, Default)]
pub struct Forwarder {
    client: reqwest::Client,
}

impl Forwarder {
    /// A forwarder over a client (with the cluster's trust settings).
    pub fn new(client: reqwest::Client) -> Self {
        Forwarder { client }
    }
}

pub(crate) async fn forward(
    State(forwarder): State<Arc<Forwarder>>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => {
            return ApiError::bad_request(format!("cannot read request body: {e}")).into_response()
        }
    };
    let response = next
        .run(Request::from_parts(parts.clone(), Body::from(body.clone())))
        .await;
    let Some(ForwardTo(target)) = response.extensions().get::<ForwardTo>().cloned() else {
        return response;
    };
    let (query, flag) = split_forward_flag(parts.uri.query().unwrap_or(""));
    let next_flag = match flag {
        // The first hop may be followed by one more: the leader may have
        // moved, or the request may belong to a connector's owner.
        None => true,
        Some(true) => false,
        Some(false) => return ApiError::new(
            StatusCode::CONFLICT,
            "Cannot complete request because of a conflicting operation (e.g. worker rebalance)",
        )
        .into_response(),
    };
    let mut url = format!("{}{}", target.trim_end_matches('/'), parts.uri.path());
    url.push('?');
    if !query.is_empty() {
        url.push_str(&query);
        url.push('&');
    }
    url.push_str(&format!("forward={next_flag}"));
    send(&forwarder.client, parts.method, &parts.headers, &url, body).await
}

/// The query without `forward`, and the `forward` flag if given.
fn split_forward_flag(query: &str) -> (String, Option<bool>) {
    let mut flag = None;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| match p.split_once('=') {
            Some(("forward", v)) => {
                flag = Some(v.eq_ignore_ascii_case("true"));
                false
            }
            _ => true,
        })
        .collect();
    (rest.join("&"), flag)
}

async fn send(
    client: &reqwest::Client,
    method: axum::http::Method,
    headers: &axum::http::HeaderMap,
    url: &str,
    body: Bytes,
) -> Response {
    let method = match reqwest::Method::from_bytes(method.as_str().as_bytes()) {
        Ok(m) => m,
        Err(e) => return ApiError::bad_request(e.to_string()).into_response(),
    };
    let mut request = client.request(method, url).body(body);
    // Only what the target needs: credentials, the body's type, and the
    // inter-worker signature.
    for name in [
        header::AUTHORIZATION.as_str(),
        header::CONTENT_TYPE.as_str(),
        "x-connect-authorization",
        "x-connect-request-signature-algorithm",
    ] {
        if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
            request = request.header(name, v);
        }
    }
    let answer = match request.send().await {
        Ok(a) => a,
        Err(e) => {
            return ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("IO Error trying to forward REST request: {e}"),
            )
            .into_response()
        }
    };
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let copied: Vec<(header::HeaderName, HeaderValue)> = [header::CONTENT_TYPE, header::LOCATION]
        .into_iter()
        .filter_map(|name| {
            let v = answer.headers().get(name.as_str())?;
            Some((name, HeaderValue::from_bytes(v.as_bytes()).ok()?))
        })
        .collect();
    let bytes = match answer.bytes().await {
        Ok(b) => b,
        Err(e) => {
            return ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("IO Error trying to forward REST request: {e}"),
            )
            .into_response()
        }
    };
    let mut response = (status, bytes).into_response();
    for (name, value) in copied {
        response.headers_mut().insert(name, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::split_forward_flag;

    #[test]
    fn the_forward_flag_is_taken_out_of_the_query_and_read() {
        assert_eq!(split_forward_flag(""), (String::new(), None));
        assert_eq!(
            split_forward_flag("includeTasks=true&forward=true"),
            ("includeTasks=true".to_string(), Some(true))
        );
        assert_eq!(
            split_forward_flag("forward=false&onlyFailed=true"),
            ("onlyFailed=true".to_string(), Some(false))
        );
    }
}
