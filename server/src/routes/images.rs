//! `GET /img/{id}/{variant}`: the library's image files, and `GET /dl/{id}?size&expires&token`:
//! signed downloads.
//!
//! Image responses carry a strong ETag (the SHA-256 the storage key already is), answer
//! `If-None-Match` with 304, serve byte ranges (see `stored`) and are cached
//! for a year as immutable when the URL carries the content hash (`?v=…`, which is how the
//! pages link them). A request whose `Referer` is another site is served like any other
//! and counted by referring domain only (image, domain, day) — never blocked.
//!
//! A download link is valid for 10 minutes; following it counts at most one download per
//! visitor, image and day (the view count's cookie-less visitor key, so minting fresh links
//! adds nothing; retries and range requests of one link are the same download) and serves
//! the file as an attachment with a readable name. A tampered or expired link gets 403 with
//! a page that offers a fresh link.

use crate::middleware::security_headers::CspNonce;
use app::{
    features::{
        accounts::session,
        library::service::{self, StoredFile, Variant},
        privacy::settings as privacy_settings,
    },
    platform::{clock::now_unix, signing, state::AppState},
};
use axum::{
    extract::{Path, Query, Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode, Uri},
    response::{Html, IntoResponse, Response},
    routing::get,
    Router,
};
use serde::Deserialize;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Without the content hash in the URL a browser may keep the file for an hour and then
/// revalidates it with the ETag.
const SHORT: &str = "public, max-age=3600";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/img/{id}/{variant}", get(image))
        .route("/dl/{id}", get(download))
}

#[derive(Debug, Default, Deserialize)]
pub struct ImageQuery {
    v: Option<String>,
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "No such image.").into_response()
}

fn server_error(error: sqlx::Error) -> Response {
    tracing::error!(%error, "database error while serving an image");
    (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on our side.").into_response()
}

/// Whether `If-None-Match` names this ETag (or `*`).
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|candidate| candidate.trim().trim_start_matches("W/"))
        .any(|candidate| candidate == etag || candidate == "*")
}

/// The stored file (ranges, HEAD, content length, on either storage backend), with our headers.
async fn serve_file(
    state: &AppState,
    file: &StoredFile,
    request: Request,
    extra: Vec<(header::HeaderName, String)>,
) -> Response {
    let mut response = super::stored::serve(&state.media, &file.storage_key, &file.content_type, request).await;
    if response.status() == StatusCode::NOT_FOUND {
        tracing::error!(key = %file.storage_key, "an image file is missing from storage");
        return (StatusCode::INTERNAL_SERVER_ERROR, "The image file is missing.").into_response();
    }
    let headers = response.headers_mut();
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(&file.etag()).expect("hex is a valid header"),
    );
    for (name, value) in extra {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

/// `GET /img/{id}/{variant}`.
pub async fn image(
    State(state): State<AppState>,
    Path((public_id, variant)): Path<(String, String)>,
    Query(query): Query<ImageQuery>,
    request: Request,
) -> Response {
    let Some(variant) = Variant::parse(&variant) else {
        return not_found();
    };
    let file = match service::stored_file(&state.db, &public_id, variant).await {
        Ok(Some(file)) => file,
        Ok(None) => return not_found(),
        Err(error) => return server_error(error),
    };
    let cache_control = if query.v.as_deref() == Some(file.version()) {
        IMMUTABLE
    } else {
        SHORT
    };
    if let Some(domain) = foreign_referrer(request.headers(), &state.config.public_url) {
        let db = state.db.clone();
        let image_id = file.image_id;
        // Counting never delays or fails the image.
        tokio::spawn(async move {
            if let Err(error) = service::record_hotlink(&db, image_id, &domain, now_unix()).await {
                tracing::warn!(%error, "could not record a hotlink");
            }
        });
    }
    let etag = file.etag();
    if not_modified(request.headers(), &etag) {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag), (header::CACHE_CONTROL, cache_control.to_owned())],
        )
            .into_response();
    }
    serve_file(
        &state,
        &file,
        request,
        vec![(header::CACHE_CONTROL, cache_control.to_owned())],
    )
    .await
}

/// The registrable host of a `Referer` that is not this site, lower-cased, without port,
/// path or query — all we keep of it.
pub fn foreign_referrer(headers: &HeaderMap, public_url: &str) -> Option<String> {
    let referrer = headers.get(header::REFERER)?.to_str().ok()?;
    let uri: Uri = referrer.parse().ok()?;
    let scheme = uri.scheme_str()?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let host = uri.host()?.trim_end_matches('.').to_ascii_lowercase();
    let own = public_url
        .parse::<Uri>()
        .ok()
        .and_then(|uri| uri.host().map(str::to_ascii_lowercase));
    let same_site = own.as_deref() == Some(host.as_str())
        || headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .map(|value| value.split(':').next().unwrap_or_default().to_ascii_lowercase())
            .as_deref()
            == Some(host.as_str());
    (!same_site && !host.is_empty() && host.len() <= 253).then_some(host)
}

#[derive(Debug, Default, Deserialize)]
pub struct DownloadQuery {
    size: Option<String>,
    expires: Option<String>,
    token: Option<String>,
}

/// `GET /dl/{id}?size=…&expires=…&token=…`.
pub async fn download(
    State(state): State<AppState>,
    Path(public_id): Path<String>,
    Query(query): Query<DownloadQuery>,
    request: Request,
) -> Response {
    let variant = query.size.as_deref().and_then(Variant::parse).unwrap_or(Variant::Full);
    let file = match service::stored_file(&state.db, &public_id, variant).await {
        Ok(Some(file)) => file,
        Ok(None) => return not_found(),
        Err(error) => return server_error(error),
    };
    let now = now_unix();
    let expires = query.expires.as_deref().and_then(|raw| raw.parse::<i64>().ok());
    let valid = match (query.size.as_deref(), expires, query.token.as_deref()) {
        (Some(size), Some(expires), Some(token)) => {
            signing::download_link_valid(&state.secret_key, &public_id, size, expires, token, now)
        }
        _ => false,
    };
    if !valid {
        let nonce = request
            .extensions()
            .get::<CspNonce>()
            .map(|nonce| nonce.0.clone())
            .unwrap_or_default();
        let fresh = signing::download_path(
            &state.secret_key,
            &public_id,
            variant.as_str(),
            now + signing::DOWNLOAD_LINK_SECONDS,
        );
        return (
            StatusCode::FORBIDDEN,
            [(header::CACHE_CONTROL, "no-store")],
            Html(expired_page(
                &state.config.site_name,
                &file.title,
                &public_id,
                &fresh,
                &nonce,
            )),
        )
            .into_response();
    }

    // One count per visitor, image and day, and per link: the token is unique to (image,
    // size, expiry).
    let (parts, body) = request.into_parts();
    let visitor = service::visitor_key(&state.secret_key, &parts, "download", now);
    let user_id = session::of_request(&state.db, &state.config, &parts)
        .await
        .ok()
        .flatten()
        .map(|member| member.user_id);
    // A member who switched their activity history off is counted without their account.
    let user_id = match user_id {
        Some(id) => match privacy_settings::records_usage(&state.db, id).await {
            Ok(true) => Some(id),
            Ok(false) => None,
            Err(error) => {
                tracing::error!(%error, "could not read privacy settings; counting the download without the member");
                None
            }
        },
        None => None,
    };
    let request = Request::from_parts(parts, body);
    let link = query.token.unwrap_or_default();
    if let Err(error) = service::record_download(&state.db, file.image_id, user_id, variant, &link, &visitor, now).await
    {
        tracing::error!(%error, "could not record a download");
    }
    let filename = file.download_name();
    serve_file(
        &state,
        &file,
        request,
        vec![
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
    )
    .await
}

/// The 403 page: what happened, and a fresh link.
fn expired_page(site_name: &str, title: &str, public_id: &str, fresh: &str, nonce: &str) -> String {
    use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>Download link expired · {site}</title>
<style nonce="{nonce}">
body{{font-family:system-ui,sans-serif;background:#faf8f5;color:#1c1917;display:grid;place-items:center;min-height:100vh;margin:0;padding:1rem}}
main{{max-width:32rem}}h1{{font-size:1.6rem;margin:0 0 .5rem}}p{{color:#57534e;line-height:1.5}}
a.button{{display:inline-block;margin-top:1rem;padding:.7rem 1.2rem;border-radius:.6rem;background:#b4532a;color:#fff;text-decoration:none;font-weight:600}}
a.button:focus-visible{{outline:3px solid #1c1917;outline-offset:2px}}a.back{{margin-left:1rem;color:#b4532a}}
@media (prefers-color-scheme:dark){{body{{background:#1c1917;color:#f5f5f4}}p{{color:#d6d3d1}}}}
</style></head>
<body><main>
<h1>This download link has expired</h1>
<p>Download links work for 10 minutes, and this one is older or was changed. Here is a fresh one for “{title}”.</p>
<p><a class="button" href="{fresh}" data-testid="fresh-download">Download again</a><a class="back" href="/photos/{id}">Back to the image</a></p>
</main></body></html>"#,
        site = text(site_name),
        title = text(title),
        fresh = attr(fresh),
        id = attr(public_id),
        nonce = attr(nonce),
    )
}
