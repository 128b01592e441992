//! Who is asking and what they may do, for every server function: the session behind the
//! request, role checks, abuse limits, and the session cookie written on the response.
//! Authorization lives here and in services, never in views alone.

use super::{
    service::AccountError,
    session::{self, CurrentMember},
    Role,
};
use crate::{
    error::AppError,
    platform::{rate_limit::PairLimit, request, state::app_state},
};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use leptos::prelude::*;

/// The signed-in member for this request, if any.
pub async fn current_member() -> Result<Option<CurrentMember>, AppError> {
    // Outside a request (the router renders the app once at start-up to list its routes,
    // and the header's resource may run then) there is no state and nobody is signed in.
    let Some(state) = use_context::<crate::platform::state::AppState>() else {
        return Ok(None);
    };
    let Some(parts) = request::request_parts() else {
        return Ok(None);
    };
    let Some(token) = request::cookie(&parts, session::cookie_name(&state.config)) else {
        return Ok(None);
    };
    Ok(session::resolve(&state.db, &token).await?)
}

/// The signed-in member, or `Unauthorized`.
pub async fn require_member() -> Result<CurrentMember, AppError> {
    current_member().await?.ok_or(AppError::Unauthorized)
}

/// The signed-in member if their role is at least `role`: `Unauthorized` when signed out,
/// `Forbidden` when the role is too low.
pub async fn require_role(role: Role) -> Result<CurrentMember, AppError> {
    let member = require_member().await?;
    authorize(&member, role)?;
    Ok(member)
}

/// The role check itself, for services that already hold the member.
pub fn authorize(member: &CurrentMember, role: Role) -> Result<(), AppError> {
    if member.role.includes(role) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Publishing and paid features need a confirmed address.
pub fn require_verified_email(member: &CurrentMember) -> Result<(), AppError> {
    if member.email_verified {
        Ok(())
    } else {
        Err(AppError::Invalid(
            "Confirm your email address first: use the link we sent you, or send a new one from your account page."
                .into(),
        ))
    }
}

pub fn set_response_header(name: HeaderName, value: &str) -> Result<(), AppError> {
    let value = HeaderValue::from_str(value).map_err(|_| AppError::Internal)?;
    expect_context::<leptos_axum::ResponseOptions>().append_header(name, value);
    Ok(())
}

/// The client's IP as a rate-limit key.
pub fn client_key() -> String {
    request::request_parts()
        .and_then(|parts| request::client_ip(&parts))
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Counts an attempt against `limit`; over it, answers 429 with `Retry-After`.
pub fn limit(limit: &PairLimit, account: &str) -> Result<(), AppError> {
    if let Err(wait_seconds) = limit.check(&client_key(), account) {
        expect_context::<leptos_axum::ResponseOptions>().set_status(StatusCode::TOO_MANY_REQUESTS);
        set_response_header(header::RETRY_AFTER, &wait_seconds.to_string())?;
        return Err(AppError::RateLimited);
    }
    Ok(())
}

/// Starts a new session for `user_id` and sets its cookie. Any session this browser
/// presented is ended first, so the id always changes at sign-in.
pub async fn begin_session(user_id: i64, remember: bool) -> Result<(), AppError> {
    let state = app_state();
    let parts = request::request_parts().ok_or(AppError::Internal)?;
    let cookie = session::begin(&state.db, &state.config, &parts, user_id, remember).await?;
    set_response_header(header::SET_COOKIE, &cookie)
}

/// Removes the session cookie from the browser.
pub fn forget_cookie() -> Result<(), AppError> {
    let state = app_state();
    set_response_header(header::SET_COOKIE, &session::clear_cookie(&state.config))
}

impl From<AccountError> for AppError {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::Invalid { field, message } => AppError::field(field, message),
            AccountError::EmailTaken => AppError::field(
                "email",
                "An account with this email already exists. Sign in, or reset your password if you forgot it.",
            ),
            AccountError::BadCredentials => AppError::Invalid("The email or password is incorrect.".into()),
            AccountError::Database(error) => error.into(),
            AccountError::Hashing(message) => {
                tracing::error!(error = %message, "password hashing failed");
                AppError::Internal
            }
        }
    }
}
