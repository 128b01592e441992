//! Server functions for signing in and out and managing one's sessions.

use super::{MemberSummary, SessionInfo};
use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
pub use super::guard::{current_member, require_member};

/// Who is signed in, for the header.
#[server]
pub async fn who_am_i() -> Result<Option<MemberSummary>, AppError> {
    Ok(current_member().await?.map(|member| MemberSummary {
        display_name: member.display_name,
        email: member.email,
        role: member.role,
        email_verified: member.email_verified,
    }))
}

/// Signs in with email and password. The session id is new at every sign-in. Limited per IP
/// and per account (429 + Retry-After).
#[server]
pub async fn sign_in(
    email: String,
    password: String,
    remember: Option<String>,
    next: Option<String>,
) -> Result<(), AppError> {
    use super::{guard, service};
    use crate::platform::state::app_state;

    let state = app_state();
    let email = email.trim().to_lowercase();
    if email.is_empty() {
        return Err(AppError::field("email", "Enter your email address."));
    }
    if password.is_empty() {
        return Err(AppError::field("password", "Enter your password."));
    }
    if email.len() > 254 || password.chars().count() > service::MAX_PASSWORD_CHARS {
        return Err(AppError::Invalid("The email or password is incorrect.".into()));
    }
    guard::limit(&state.auth_limits.sign_in, &email)?;
    let user_id = service::authenticate(&state.db, &email, &password).await?;
    let remember = remember.is_some_and(|value| !value.is_empty() && value != "false");
    guard::begin_session(user_id, remember).await?;
    // A member whose account is waiting to be deleted lands where they can cancel that.
    let scheduled = crate::features::privacy::deletion::scheduled(&state.db, user_id).await?;
    let next = if scheduled.is_some() {
        "/account/data".to_owned()
    } else {
        crate::platform::redirect::safe_next(next.as_deref())
    };
    leptos_axum::redirect(&next);
    Ok(())
}

/// Ends this browser's session on the server and removes the cookie.
#[server]
pub async fn sign_out() -> Result<(), AppError> {
    use super::{guard, session};
    use crate::platform::{request, state::app_state};
    let state = app_state();
    if let Some(parts) = request::request_parts() {
        if let Some(token) = request::cookie(&parts, session::cookie_name(&state.config)) {
            session::end_by_token(&state.db, &token).await?;
        }
    }
    guard::forget_cookie()?;
    leptos_axum::redirect("/");
    Ok(())
}

/// The signed-in member's sessions, this one marked.
#[server]
pub async fn my_sessions() -> Result<Vec<SessionInfo>, AppError> {
    let member = require_member().await?;
    let state = crate::platform::state::app_state();
    let mut sessions = super::session::list(&state.db, member.user_id).await?;
    for info in &mut sessions {
        info.current = info.handle == member.session_handle;
    }
    Ok(sessions)
}

/// Ends one of the member's own sessions; ending this one also signs this browser out.
#[server]
pub async fn end_session(handle: String) -> Result<(), AppError> {
    let member = require_member().await?;
    let state = crate::platform::state::app_state();
    if !super::session::end_by_handle(&state.db, member.user_id, &handle).await? {
        return Err(AppError::NotFound);
    }
    if handle == member.session_handle {
        super::guard::forget_cookie()?;
        leptos_axum::redirect("/signin");
    }
    Ok(())
}

/// Ends every session of the member, this one included.
#[server]
pub async fn end_all_sessions() -> Result<(), AppError> {
    let member = require_member().await?;
    let state = crate::platform::state::app_state();
    super::session::end_all(&state.db, member.user_id).await?;
    super::guard::forget_cookie()?;
    leptos_axum::redirect("/signin");
    Ok(())
}
