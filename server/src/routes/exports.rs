//! Finished export zips, each to its owner only while it has not expired:
//! `GET /account/data/exports/{id}` (a member's data) and
//! `GET /collections/{slug}/exports/{id}` (a collection). Anyone else — signed out, another
//! member, a guessed id, an expired export — is sent to a page that says what to do
//! instead; nobody learns whether an export exists.

use super::stored;
use app::{
    features::{accounts::session, collections, privacy::export},
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
    Router::new()
        .route("/account/data/exports/{id}", get(download))
        .route("/collections/{slug}/exports/{id}", get(download_collection))
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
    let filename = format!("atelier-data-{}.zip", app::dates::iso_day(created_at));
    attachment(&state, &key, &filename, Request::from_parts(parts, body)).await
}

async fn download_collection(
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    request: Request,
) -> Response {
    // Slugs are lower-case letters, digits and dashes; anything else names no collection
    // (and must not reach a Location header).
    if slug.is_empty() || slug.len() > 120 || !slug.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Redirect::to("/collections").into_response();
    }
    let (parts, body) = request.into_parts();
    let collection = collections::collection_href(&slug);
    let member = match session::of_request(&state.db, &state.config, &parts).await {
        Ok(Some(member)) => member,
        Ok(None) => return Redirect::to(&format!("/signin?next={collection}")).into_response(),
        Err(error) => return unavailable(&error),
    };
    let gone = || Redirect::to(&format!("{collection}?export=unavailable#exports")).into_response();
    let Ok(id) = id.parse::<i64>() else { return gone() };
    match collections::export::downloadable(&state.db, member.user_id, &slug, id, now_unix()).await {
        Ok(Some((key, filename))) => attachment(&state, &key, &filename, Request::from_parts(parts, body)).await,
        Ok(None) => gone(),
        Err(error) => unavailable(&error),
    }
}

/// The zip under `key` as a download called `filename`, kept by no cache: it is one
/// member's, and the link stops working when the export expires.
async fn attachment(state: &AppState, key: &str, filename: &str, request: Request) -> Response {
    let mut response = stored::serve(&state.media, key, "application/zip", request).await;
    if response.status().is_success() {
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
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
