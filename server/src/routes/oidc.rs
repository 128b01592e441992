//! `GET /auth/oidc/start?next=…` and `GET /auth/oidc/callback?code=…&state=…`: single sign-on
//! through the configured OpenID Connect provider (`ATELIER_OIDC_*`). Both answer 404 when
//! it is not configured.
//!
//! These are plain routes, not server functions: the browser arrives by navigation (a link
//! on the sign-in page, then the provider's redirect), so they answer with redirects. The
//! callback changes state on a GET because that is how the provider sends the browser
//! back; what protects it is the single-use `state`, bound to the browser that started the
//! sign-in by a cookie (see `app::features::accounts::oidc`). Failures go back to
//! `/signin?oidc_error=<code>`: a short code, never free text, so nobody can craft a
//! sign-in link that prints their own words on our page.

use app::{
    features::accounts::{
        oidc::{self, CallbackParams, Finished, OidcFailure},
        session,
    },
    platform::{request, state::AppState},
};
use axum::{
    extract::{rejection::QueryRejection, Query, State},
    http::{header, request::Parts, StatusCode},
    response::{AppendHeaders, IntoResponse, Response},
    routing::get,
    Router,
};
use serde::Deserialize;

/// The single sign-on routes. Merge them before the router's layers (like the avatar
/// routes) so the security headers and the client-address middleware apply.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(oidc::START_PATH, get(start))
        .route(oidc::CALLBACK_PATH, get(callback))
}

#[derive(Debug, Default, Deserialize)]
pub struct StartQuery {
    next: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn not_configured() -> Response {
    (StatusCode::NOT_FOUND, "Single sign-on is not configured on this site.").into_response()
}

/// A redirect that no cache keeps, with any number of cookies.
fn redirect(status: StatusCode, location: &str, cookies: Vec<String>) -> Response {
    let mut headers = vec![
        (header::LOCATION, location.to_owned()),
        (header::CACHE_CONTROL, "no-store".to_owned()),
    ];
    headers.extend(cookies.into_iter().map(|cookie| (header::SET_COOKIE, cookie)));
    (status, AppendHeaders(headers)).into_response()
}

fn failure_redirect(failure: OidcFailure, cookies: Vec<String>) -> Response {
    if failure != OidcFailure::Internal {
        tracing::info!(reason = failure.code(), "single sign-on refused");
    }
    redirect(
        StatusCode::SEE_OTHER,
        &format!("/signin?oidc_error={}", failure.code()),
        cookies,
    )
}

/// `GET /auth/oidc/start`: remembers the sign-in and sends the browser to the provider.
pub async fn start(
    State(state): State<AppState>,
    parts: Parts,
    query: Result<Query<StartQuery>, QueryRejection>,
) -> Response {
    let Some(oidc) = state.oidc.clone() else {
        return not_configured();
    };
    let next = query.map(|Query(query)| query.next).unwrap_or_default();
    let client = request::client_ip(&parts)
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "unknown".to_owned());
    if let Err(wait_seconds) = oidc.check_start(&client) {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, wait_seconds.to_string())],
            "Too many sign-in attempts. Please wait a moment and try again.",
        )
            .into_response();
    }
    match oidc.begin(&state.db, next.as_deref()).await {
        Ok(started) => redirect(
            StatusCode::FOUND,
            &started.authorize_url,
            vec![oidc::binding_cookie(&state.config, &started.binding)],
        ),
        Err(failure) => failure_redirect(failure, Vec::new()),
    }
}

/// `GET /auth/oidc/callback`: finishes the sign-in and starts a session, like a password
/// sign-in without “keep me signed in”: a new session id, and the one this browser
/// presented (if any) ended.
pub async fn callback(
    State(state): State<AppState>,
    parts: Parts,
    query: Result<Query<CallbackQuery>, QueryRejection>,
) -> Response {
    let Some(oidc) = state.oidc.clone() else {
        return not_configured();
    };
    let query = query.map(|Query(query)| query).unwrap_or_default();
    let binding = request::cookie(&parts, oidc::binding_cookie_name(&state.config));
    // Every answer removes the binding cookie: the sign-in it pointed to is used up.
    let clear = oidc::clear_binding_cookie(&state.config);
    let params = CallbackParams {
        code: query.code.as_deref(),
        state: query.state.as_deref(),
        error: query.error.as_deref(),
    };
    let signed_in = match oidc.finish(&state.db, binding.as_deref(), params).await {
        Ok(Finished::SignedIn(signed_in)) => signed_in,
        Ok(Finished::NeedsSignUp { binding }) => {
            let waiting = oidc::sign_up_cookie(&state.config, &binding);
            return redirect(StatusCode::SEE_OTHER, oidc::SIGN_UP_PATH, vec![waiting, clear]);
        }
        Err(failure) => return failure_redirect(failure, vec![clear]),
    };
    match session::begin(&state.db, &state.config, &parts, signed_in.user_id, false).await {
        Ok(cookie) => redirect(StatusCode::SEE_OTHER, &signed_in.next, vec![cookie, clear]),
        Err(error) => {
            tracing::error!(%error, "could not start a session after single sign-on");
            failure_redirect(OidcFailure::Internal, vec![clear])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::features::accounts::oidc_views::oidc_error_message;

    #[test]
    fn every_failure_code_has_a_message_on_the_sign_in_page() {
        for failure in OidcFailure::ALL {
            assert!(oidc_error_message(failure.code()).is_some(), "{}", failure.code());
        }
    }

    #[test]
    fn failures_go_back_to_the_sign_in_page_with_a_code_only() {
        let response = failure_redirect(OidcFailure::EmailUnverified, vec!["a=; Max-Age=0".into()]);
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[header::LOCATION], "/signin?oidc_error=email");
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(response.headers().get_all(header::SET_COOKIE).iter().count(), 1);
    }
}
