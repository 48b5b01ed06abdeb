//! Errors shared by the plugin API, converters, transforms and the herder.

use thiserror::Error;

/// Conversion or schema validation failed: Kafka's `DataException`.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{message}")]
pub struct DataError {
    message: String,
}

impl DataError {
    /// Builds an error from a message.
    pub fn new(message: impl Into<String>) -> Self {
        DataError {
            message: message.into(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// An error from a connector, task, converter or the herder. The variant
/// decides the REST status code and whether the operation may be retried;
/// retry logic matches on the variant, never on the message.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum ConnectError {
    /// 404: a connector, task, plugin or logger does not exist.
    #[error("{0}")]
    NotFound(String),
    /// 409: a connector with that name already exists.
    #[error("{0}")]
    AlreadyExists(String),
    /// 400: the request is malformed or the config is invalid.
    #[error("{0}")]
    BadRequest(String),
    /// 409: the request conflicts with a concurrent operation.
    #[error("{0}")]
    Conflict(String),
    /// 403: the operation is disabled by configuration.
    #[error("{0}")]
    Forbidden(String),
    /// A transient failure: Kafka's `RetriableException`. The framework
    /// retries the operation after a backoff.
    #[error("{0}")]
    Retriable(String),
    /// Data could not be converted or did not match its schema.
    #[error(transparent)]
    Data(#[from] DataError),
    /// Any other failure: Kafka's `ConnectException` (500 over REST).
    #[error("{0}")]
    Connect(String),
    /// The request must be served by another worker of the cluster (Java's
    /// `NotLeaderException` and `NotAssignedException`): the REST layer
    /// forwards it to `url`, or answers 409 if it may not forward.
    #[error("{message}")]
    RequestTarget {
        /// Why this worker cannot serve it.
        message: String,
        /// The REST URL of the worker that can.
        url: String,
    },
    /// A REST error with its own status (Java's `ConnectRestException`).
    #[error("{message}")]
    Rest {
        /// The HTTP status.
        status: u16,
        /// The message.
        message: String,
    },
}

impl ConnectError {
    /// A generic failure.
    pub fn connect(message: impl Into<String>) -> Self {
        ConnectError::Connect(message.into())
    }

    /// A transient failure.
    pub fn retriable(message: impl Into<String>) -> Self {
        ConnectError::Retriable(message.into())
    }

    /// Whether the failed operation may succeed when retried.
    pub fn is_retriable(&self) -> bool {
        matches!(self, ConnectError::Retriable(_))
    }

    /// The HTTP status Kafka Connect's `ConnectExceptionMapper` would use.
    pub fn http_status(&self) -> u16 {
        match self {
            ConnectError::NotFound(_) => 404,
            ConnectError::AlreadyExists(_)
            | ConnectError::Conflict(_)
            | ConnectError::RequestTarget { .. } => 409,
            ConnectError::Rest { status, .. } => *status,
            ConnectError::BadRequest(_) => 400,
            ConnectError::Forbidden(_) => 403,
            ConnectError::Retriable(_) | ConnectError::Data(_) | ConnectError::Connect(_) => 500,
        }
    }

    /// The Java exception class this error corresponds to, used in task
    /// traces and in dead-letter-queue context headers.
    pub fn java_class(&self) -> &'static str {
        match self {
            ConnectError::NotFound(_) => "org.apache.kafka.connect.errors.NotFoundException",
            ConnectError::AlreadyExists(_) => {
                "org.apache.kafka.connect.errors.AlreadyExistsException"
            }
            ConnectError::BadRequest(_) => {
                "org.apache.kafka.connect.runtime.rest.errors.BadRequestException"
            }
            ConnectError::Conflict(_) | ConnectError::Forbidden(_) | ConnectError::Rest { .. } => {
                "org.apache.kafka.connect.runtime.rest.errors.ConnectRestException"
            }
            ConnectError::RequestTarget { .. } => {
                "org.apache.kafka.connect.runtime.distributed.RequestTargetException"
            }
            ConnectError::Retriable(_) => "org.apache.kafka.connect.errors.RetriableException",
            ConnectError::Data(_) => "org.apache.kafka.connect.errors.DataException",
            ConnectError::Connect(_) => "org.apache.kafka.connect.errors.ConnectException",
        }
    }

    /// The trace shown in `/status`: the exception class and message, as the
    /// first line of a Java stack trace reads.
    pub fn trace(&self) -> String {
        format!("{}: {}", self.java_class(), self)
    }
}

/// Result alias for Connect operations.
pub type ConnectResult<T> = Result<T, ConnectError>;
