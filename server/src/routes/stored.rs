//! Stored objects as HTTP responses, the same on either backend: files on local disk go
//! through tower-http's `ServeFile`; objects in S3 are streamed through `object_store`
//! with the same answers to `HEAD` and single byte ranges (206, or 416 as `ServeFile`
//! gives for ranges it cannot serve), so pages and tests cannot tell the two apart.

use app::platform::media::MediaStore;
use axum::{
    body::Body,
    extract::{Path, Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
};
use std::{io, ops::Range};
use tower::ServiceExt;
use tower_http::services::ServeFile;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// What the `Range` header asks of an object of a known size.
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    Whole,
    Part(Range<u64>),
    Unsatisfiable,
}

fn wanted(headers: &HeaderMap, size: u64) -> Wanted {
    let Some(value) = headers.get(header::RANGE) else {
        return Wanted::Whole;
    };
    let parsed = value
        .to_str()
        .ok()
        .and_then(|text| http_range_header::parse_range_header(text).ok())
        .and_then(|ranges| ranges.validate(size).ok());
    match parsed.as_deref() {
        Some([only]) => Wanted::Part(*only.start()..only.end() + 1),
        _ => Wanted::Unsatisfiable,
    }
}

/// The object under `key` as `content_type`. A missing object is a 404 here; callers that
/// know it should exist say so in their own words.
pub async fn serve(media: &MediaStore, key: &str, content_type: &str, request: Request) -> Response {
    if let Some(root) = media.local_root() {
        let mime: mime::Mime = content_type.parse().unwrap_or(mime::APPLICATION_OCTET_STREAM);
        return match ServeFile::new_with_mime(root.join(key), &mime).oneshot(request).await {
            Ok(response) => response.map(Body::new),
            Err(error) => match error {},
        };
    }
    let size = match media.size(key).await {
        Ok(size) => size,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return StatusCode::NOT_FOUND.into_response(),
        Err(error) => return unavailable(key, &error),
    };
    let (status, range) = match wanted(request.headers(), size) {
        Wanted::Whole => (StatusCode::OK, None),
        Wanted::Part(range) => (StatusCode::PARTIAL_CONTENT, Some(range)),
        Wanted::Unsatisfiable => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{size}"))],
            )
                .into_response()
        }
    };
    let length = range.as_ref().map_or(size, |range| range.end - range.start);
    let body = if request.method() == Method::HEAD {
        Body::empty()
    } else {
        match media.open(key, range.clone()).await {
            Ok(stream) => Body::from_stream(stream),
            Err(error) => return unavailable(key, &error),
        }
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if let Some(range) = range {
        let value = format!("bytes {}-{}/{size}", range.start, range.end - 1);
        headers.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&value).expect("digits are a valid header"),
        );
    }
    response
}

fn unavailable(key: &str, error: &io::Error) -> Response {
    tracing::error!(%error, %key, "could not read from media storage");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "Media storage is not answering; try again shortly.",
    )
        .into_response()
}

/// `GET /media/{*key}`: content-addressed files (avatars), cached for good. Only keys of the
/// shape storage gives them are served, so staged uploads stay private.
pub async fn media(
    State(state): State<app::platform::state::AppState>,
    Path(key): Path<String>,
    request: Request,
) -> Response {
    if !MediaStore::is_public_key(&key) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let digest = key
        .rsplit('/')
        .next()
        .and_then(|name| name.split('.').next())
        .unwrap_or_default();
    let etag = format!("\"{digest}\"");
    let revalidated = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|candidate| candidate.trim() == etag));
    let cache = [
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, IMMUTABLE.to_owned()),
    ];
    if revalidated {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    let content_type = mime_guess::from_path(&key).first_or_octet_stream();
    let mut response = serve(&state.media, &key, content_type.essence_str(), request).await;
    if response.status().is_success() {
        for (name, value) in cache {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn ranges_are_read_as_serve_file_reads_them() {
        assert_eq!(wanted(&HeaderMap::new(), 10), Wanted::Whole);
        assert_eq!(wanted(&range("bytes=0-3"), 10), Wanted::Part(0..4));
        assert_eq!(wanted(&range("bytes=6-"), 10), Wanted::Part(6..10));
        assert_eq!(wanted(&range("bytes=-3"), 10), Wanted::Part(7..10));
        assert_eq!(wanted(&range("bytes=4-400"), 10), Wanted::Part(4..10));
        assert_eq!(wanted(&range("bytes=20-30"), 10), Wanted::Unsatisfiable);
        assert_eq!(wanted(&range("bytes=0-1,4-5"), 10), Wanted::Unsatisfiable);
        assert_eq!(wanted(&range("pages=1"), 10), Wanted::Unsatisfiable);
    }
}
