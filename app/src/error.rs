//! The one error type that crosses the wire from server functions to the browser.
//! Every variant's message is safe to show to a person; internals are logged, never sent.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Input that a person can correct; the message says how.
    #[error("{0}")]
    Invalid(String),
    /// Input a person can correct in one form field (its `name`); forms show it inline.
    #[error("{message}")]
    Field { field: String, message: String },
    #[error("We couldn't find that.")]
    NotFound,
    #[error("Please sign in to continue.")]
    Unauthorized,
    #[error("You don't have access to that.")]
    Forbidden,
    #[error("Too many requests. Please wait a moment and try again.")]
    RateLimited,
    /// The request never reached the server or its answer never came back.
    #[error("We couldn't reach Atelier. Check your connection and try again.")]
    Network,
    /// Anything unexpected on the server; details are in the server log under the request id.
    #[error("Something went wrong on our side. Please try again in a moment.")]
    Internal,
}

impl AppError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        AppError::Field {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// The message for one form field, when this error is about that field.
    pub fn for_field(&self, name: &str) -> Option<String> {
        match self {
            AppError::Field { field, message } if field == name => Some(message.clone()),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => AppError::Network,
            ServerFnErrorErr::Args(message) | ServerFnErrorErr::Deserialization(message) => {
                AppError::Invalid(format!("The request was not understood: {message}"))
            }
            ServerFnErrorErr::MissingArg(arg) => AppError::Invalid(format!("The request is missing “{arg}”.")),
            _ => AppError::Internal,
        }
    }
}

#[cfg(feature = "ssr")]
mod server_conversions {
    use super::AppError;
    use axum::http::StatusCode;

    impl AppError {
        /// The HTTP status a server function answers with when it fails this way, so
        /// clients, caches and logs see a refused input as a 4xx rather than a fault.
        pub fn status(&self) -> StatusCode {
            match self {
                AppError::Invalid(_) | AppError::Field { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                AppError::NotFound => StatusCode::NOT_FOUND,
                AppError::Unauthorized => StatusCode::UNAUTHORIZED,
                AppError::Forbidden => StatusCode::FORBIDDEN,
                AppError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
                AppError::Network => StatusCode::BAD_GATEWAY,
                AppError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            }
        }
    }

    impl From<sqlx::Error> for AppError {
        fn from(error: sqlx::Error) -> Self {
            match error {
                sqlx::Error::RowNotFound => AppError::NotFound,
                other => {
                    tracing::error!(error = %other, "database error");
                    AppError::Internal
                }
            }
        }
    }
}
