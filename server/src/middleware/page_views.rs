//! Counts a page view for every full page load the router matched to a page: GET, 200 and
//! HTML. Pages shown by client-side navigation are reported by the browser instead
//! (`routes::usage`).

use crate::startup::page_pattern;
use app::platform::usage::{UsageKind, UsageRecorder};
use axum::{
    extract::{MatchedPath, Request, State},
    http::{header, Method, StatusCode},
    middleware::Next,
    response::Response,
};

pub async fn count_page_views(State(usage): State<UsageRecorder>, request: Request, next: Next) -> Response {
    let pattern = if request.method() == Method::GET {
        request
            .extensions()
            .get::<MatchedPath>()
            .and_then(|matched| page_pattern(matched.as_str()))
    } else {
        None
    };
    let response = next.run(request).await;
    if let Some(pattern) = pattern {
        let html = response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|value| value.as_bytes().starts_with(b"text/html"));
        if response.status() == StatusCode::OK && html {
            usage.record(UsageKind::PageView, pattern, None);
        }
    }
    response
}
