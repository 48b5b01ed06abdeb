//! Kafka Connect's error body: `{"error_code": <status>, "message": "..."}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rampart_core::ConnectError;
use serde_json::json;

/// An error answered to a REST client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    // Another worker serves this request: forward it there.
    forward: Option<String>,
}

impl ApiError {
    /// An error with a status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            forward: None,
        }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<ConnectError> for ApiError {
    fn from(e: ConnectError) -> Self {
        let status =
            StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let forward = match &e {
            ConnectError::RequestTarget { url, .. } => Some(url.clone()),
            _ => None,
        };
        ApiError {
            status,
            message: e.to_string(),
            forward,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error_code": self.status.as_u16(), "message": self.message});
        let mut response = (self.status, Json(body)).into_response();
        if let Some(url) = self.forward {
            response
                .extensions_mut()
                .insert(crate::forward::ForwardTo(url));
        }
        response
    }
}

/// The body Jersey gives for framework-level errors (404, 405, 415).
pub fn http_error(status: StatusCode) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    ApiError::new(status, format!("HTTP {} {}", status.as_u16(), reason)).into_response()
}

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;
