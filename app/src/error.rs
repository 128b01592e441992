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

/// Longest piece of someone's input an error message repeats back.
const MAX_QUOTED_CHARS: usize = 120;

/// `input` cut to [`MAX_QUOTED_CHARS`] characters for an error message: a message that
/// repeated a 70 KB field would be a 70 KB answer (and too large for the middleware that
/// gives failed server functions their status to read).
pub fn quoted(input: &str) -> String {
    match input.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((cut, _)) => format!("{}…", &input[..cut]),
        None => input.to_owned(),
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => AppError::Network,
            ServerFnErrorErr::Args(message) | ServerFnErrorErr::Deserialization(message) => {
                AppError::Invalid(format!("The request was not understood: {}", quoted(&message)))
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

    /// PostgreSQL's codes for text it cannot store: a NUL character (22021) or a byte
    /// sequence the encoding has no character for (22P05). SQLite stores both, so the
    /// refusal is the database's, and the input's to correct.
    const UNSTORABLE_TEXT: [&str; 2] = ["22021", "22P05"];

    impl From<sqlx::Error> for AppError {
        fn from(error: sqlx::Error) -> Self {
            let code = error
                .as_database_error()
                .and_then(|db| db.code())
                .map(|code| code.into_owned());
            match error {
                sqlx::Error::RowNotFound => AppError::NotFound,
                _ if code.as_deref().is_some_and(|code| UNSTORABLE_TEXT.contains(&code)) => AppError::Invalid(
                    "The request holds a character that cannot be stored (such as a NUL). Remove it and try again."
                        .into(),
                ),
                other => {
                    tracing::error!(error = %other, "database error");
                    AppError::Internal
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::quoted;

    #[test]
    fn quotes_are_cut_between_characters() {
        assert_eq!(quoted("short"), "short");
        let long = "é".repeat(500);
        let cut = quoted(&long);
        assert_eq!(cut.chars().count(), 121);
        assert!(cut.ends_with('…'));
    }
}
