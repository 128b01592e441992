//! `POST /usage/page-view`: the browser reports a page shown by client-side navigation,
//! as the path in a text body (`navigator.sendBeacon`). Only the page's route pattern is
//! kept, and nobody is named; a path that is no page is refused.

use crate::startup::{page_patterns, PAGE_VIEW_BEACON};
use app::platform::{
    client_ip::ClientIp,
    state::AppState,
    usage::{route_pattern, UsageKind},
};
use axum::{extract::State, http::StatusCode, routing::post, Extension, Router};

/// Longer bodies are no path of ours.
const MAX_PATH: usize = 512;

pub fn router() -> Router<AppState> {
    Router::new().route(PAGE_VIEW_BEACON, post(page_view))
}

async fn page_view(
    State(state): State<AppState>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    path: String,
) -> (StatusCode, &'static str) {
    // The browser sends the path it shows; a query string or fragment is not part of it.
    let path = path.trim();
    if path.len() > MAX_PATH || !path.starts_with('/') {
        return (StatusCode::BAD_REQUEST, "Send the path of a page, such as /photos.");
    }
    let Some(pattern) = route_pattern(page_patterns(), path) else {
        return (StatusCode::BAD_REQUEST, "That path is not a page here.");
    };
    if !state.usage.allow_beacon(ip) {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many page views from this address; try again in a minute.",
        );
    }
    state.usage.record(UsageKind::PageView, pattern, None);
    (StatusCode::NO_CONTENT, "")
}
