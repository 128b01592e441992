//! `GET /account/data/exports/{id}`: a member's finished data export, to that member only,
//! while it has not expired. Anyone else — signed out, another member, a guessed id, an
//! expired export — is sent to a page that says what to do instead; nobody learns whether
//! an export exists.

use super::stored;
use app::{
    features::{accounts::session, privacy::export},
    platform::{clock::now_unix, state::AppState},
};
use axum::{
    extract::{Path, Request, State},
    http::{header, HeaderValue},
    response::{IntoResponse, Redirect, Response},
    routing::get,
    Router,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/account/data/exports/{id}", get(download))
}

async fn download(State(state): State<AppState>, Path(id): Path<String>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let member = match session::of_request(&state.db, &state.config, &parts).await {
        Ok(Some(member)) => member,
        Ok(None) => return Redirect::to("/signin?next=/account/data").into_response(),
        Err(error) => return unavailable(&error),
    };
    let Ok(id) = id.parse::<i64>() else {
        return Redirect::to("/account/data?export=unavailable").into_response();
    };
    let (key, created_at) = match export::downloadable(&state.db, member.user_id, id, now_unix()).await {
        Ok(Some(found)) => found,
        Ok(None) => return Redirect::to("/account/data?export=unavailable").into_response(),
        Err(error) => return unavailable(&error),
    };
    let request = Request::from_parts(parts, body);
    let mut response = stored::serve(&state.media, &key, "application/zip", request).await;
    if response.status().is_success() {
        let filename = format!(
            "attachment; filename=\"atelier-data-{}.zip\"",
            app::dates::iso_day(created_at)
        );
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&filename) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
        // Personal data: never kept by a shared cache or the browser's.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
        headers.remove(header::LAST_MODIFIED);
        headers.remove(header::ETAG);
    }
    response
}

fn unavailable(error: &sqlx::Error) -> Response {
    tracing::error!(%error, "could not look up a data export");
    (
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "The database is not answering; try again shortly.",
    )
        .into_response()
}
