//! Gives failed server functions the HTTP status their error means (422, 401, 404, 429…)
//! instead of the blanket 500 that server_fn answers every error with, and sends a plain
//! form post back to the page it came from rather than that page with a bare `?`.

use app::error::AppError;
use axum::{
    body::{to_bytes, Body, HttpBody},
    extract::Request,
    http::{header::LOCATION, HeaderValue, StatusCode},
    middleware::Next,
    response::Response,
};

/// server_fn marks its error responses with this header (its value is the function's path).
const SERVER_FN_ERROR_HEADER: &str = "serverfnerror";
/// Error bodies are one small JSON value; anything larger is left untouched.
const MAX_ERROR_BODY: usize = 64 * 1024;

pub async fn server_fn_error_status(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    tidy_form_redirect(&mut response);
    // A no-JavaScript form post is redirected back by leptos_axum; keep that status.
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key(SERVER_FN_ERROR_HEADER)
    {
        return response;
    }
    let small = response
        .body()
        .size_hint()
        .exact()
        .is_some_and(|size| size <= MAX_ERROR_BODY as u64);
    if !small {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_ERROR_BODY).await else {
        // Unreachable with the exact size checked above; an empty 500 is still honest.
        return Response::from_parts(parts, Body::empty());
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = error.status();
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// server_fn sends a plain form post back to its Referer after rebuilding the query string
/// (to drop a previous error's `__err`), which leaves a bare `?` on an address that had no
/// query: `/account/privacy?`. The address bar should show the page the member was on.
fn tidy_form_redirect(response: &mut Response) {
    if !response.status().is_redirection() {
        return;
    }
    let tidy = response
        .headers()
        .get(LOCATION)
        .and_then(|location| location.to_str().ok())
        .and_then(|location| location.strip_suffix('?'))
        .and_then(|location| HeaderValue::from_str(location).ok());
    if let Some(location) = tidy {
        response.headers_mut().insert(LOCATION, location);
    }
}
