//! `POST /account/avatar` (multipart field `avatar`) and `POST /account/avatar/remove`.
//!
//! These are plain routes, not server functions, because a file arrives as
//! `multipart/form-data` from an ordinary HTML form that must work before hydration. A browser
//! form post (`Accept: text/html`) gets a 303 back to `/account` with the outcome in the query
//! (`?avatar=updated|removed` or `?avatar_error=<code>`); any other caller gets JSON with a
//! matching status (200, 400, 401, 413, 415, 500). The query carries a short code, never
//! free text, so nobody can craft an `/account` link that prints their own words on our page.
//!
//! The same-origin guard in front of every POST refuses cross-site posts (403) before this
//! code runs. Bad input never changes anything: the member keeps their current avatar.

use app::{
    features::{
        accounts::{
            service,
            session::{self, CurrentMember},
        },
        privacy::member_data,
    },
    platform::{
        image_upload::{process_avatar, UploadError, AVATAR_SIDE, MAX_UPLOAD_BYTES},
        media::MediaStore,
        state::AppState,
    },
};
use axum::{
    extract::{
        multipart::{MultipartError, MultipartRejection},
        DefaultBodyLimit, Multipart, State,
    },
    http::{header, request::Parts, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::post,
    Json, Router,
};
use serde_json::json;
use tokio::sync::Semaphore;

/// The form field that carries the file.
pub const FIELD: &str = "avatar";

/// At most this many avatars are decoded at once; the rest wait their turn. Each decode may
/// hold up to `MAX_DECODE_BYTES`, so this bounds the memory uploads can take together.
static DECODING: Semaphore = Semaphore::const_new(2);

/// The avatar routes. Merge them before the router's layers so the same-origin guard, the
/// global body limit and the security headers apply.
///
/// axum's own 2 MB default limit is lifted here: the handler counts the file's bytes itself
/// and keeps at most [`MAX_UPLOAD_BYTES`] in memory. What is over is read and dropped (up to
/// the global `ATELIER_MAX_BODY_BYTES`, 10 MiB by default) so that the client reads our 413
/// instead of a connection reset, which is what a browser shows when a server stops reading
/// an upload half way.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/avatar", post(upload))
        .route("/account/avatar/remove", post(remove))
        .layer(DefaultBodyLimit::disable())
}

/// Who the answer is for: a browser's form post wants a page, anything else wants JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Browser,
    Script,
}

impl Caller {
    fn of(headers: &HeaderMap) -> Self {
        let wants_html = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .any(|value| value.contains("text/html"));
        if wants_html {
            Caller::Browser
        } else {
            Caller::Script
        }
    }
}

/// Why a request changed nothing.
#[derive(Debug)]
enum Refusal {
    SignedOut,
    /// Not a `multipart/form-data` body, or a malformed one.
    NotAForm,
    Upload(UploadError),
    /// Our fault (storage, database, a panicked task); already logged.
    Internal,
}

impl Refusal {
    fn status(&self) -> StatusCode {
        match self {
            Refusal::SignedOut => StatusCode::UNAUTHORIZED,
            Refusal::NotAForm => StatusCode::BAD_REQUEST,
            Refusal::Upload(error) => error.status(),
            Refusal::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Refusal::SignedOut => "signed_out",
            Refusal::NotAForm => "not_a_form",
            Refusal::Upload(error) => error.code(),
            Refusal::Internal => "failed",
        }
    }

    fn message(&self) -> String {
        match self {
            Refusal::SignedOut => app::error::AppError::Unauthorized.to_string(),
            Refusal::NotAForm => "Send the image as multipart/form-data in a field named “avatar”.".to_owned(),
            Refusal::Upload(error) => error.to_string(),
            Refusal::Internal => app::error::AppError::Internal.to_string(),
        }
    }

    fn respond(self, caller: Caller) -> Response {
        match (caller, self) {
            (Caller::Browser, Refusal::SignedOut) => Redirect::to("/signin?next=/account").into_response(),
            (Caller::Browser, refusal) => {
                Redirect::to(&format!("/account?avatar_error={}", refusal.code())).into_response()
            }
            (Caller::Script, refusal) => (
                refusal.status(),
                Json(json!({ "error": refusal.code(), "message": refusal.message() })),
            )
                .into_response(),
        }
    }
}

impl From<sqlx::Error> for Refusal {
    fn from(error: sqlx::Error) -> Self {
        tracing::error!(%error, "database error in the avatar route");
        Refusal::Internal
    }
}

/// The member behind the request's session cookie. A route is not a server function, so it
/// reads the cookie from the request head itself, through the same session lookup.
async fn signed_in(state: &AppState, parts: &Parts) -> Result<Option<CurrentMember>, sqlx::Error> {
    session::of_request(&state.db, &state.config, parts).await
}

/// `POST /account/avatar`: stores a new avatar for the signed-in member.
pub async fn upload(
    State(state): State<AppState>,
    parts: Parts,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let caller = Caller::of(&parts.headers);
    let Ok(mut multipart) = multipart else {
        return Refusal::NotAForm.respond(caller);
    };
    match store_upload(&state, &parts, &mut multipart).await {
        Ok(key) => match caller {
            Caller::Browser => Redirect::to("/account?avatar=updated").into_response(),
            Caller::Script => Json(json!({
                "avatar_url": MediaStore::url_for(&key),
                "width": AVATAR_SIDE,
                "height": AVATAR_SIDE,
            }))
            .into_response(),
        },
        Err(refusal) => {
            // Whatever is left of the body is read and dropped, so the answer arrives intact.
            drain(&mut multipart).await;
            if matches!(refusal, Refusal::Upload(_)) {
                tracing::info!(reason = refusal.code(), "avatar upload refused");
            }
            refusal.respond(caller)
        }
    }
}

async fn store_upload(state: &AppState, parts: &Parts, multipart: &mut Multipart) -> Result<String, Refusal> {
    let member = signed_in(state, parts).await?.ok_or(Refusal::SignedOut)?;
    let bytes = read_field(multipart).await?;

    let turn = DECODING.acquire().await.map_err(|_| Refusal::Internal)?;
    let media = state.media.clone();
    let processed = tokio::task::spawn_blocking(move || process_avatar(&bytes)).await;
    drop(turn);
    let processed = match processed {
        Ok(result) => result.map_err(Refusal::Upload)?,
        Err(error) => {
            tracing::error!(%error, "the avatar task failed");
            return Err(Refusal::Internal);
        }
    };
    let key = media
        .put(processed.bytes.into(), processed.extension)
        .await
        .map_err(|error| {
            tracing::error!(%error, "could not store an avatar");
            Refusal::Internal
        })?;

    let replaced = service::set_avatar(&state.db, member.user_id, &key).await?;
    tracing::info!(user_id = member.user_id, "avatar updated");
    forget_file(state, replaced).await;
    Ok(key)
}

/// The bytes of the `avatar` field, at most [`MAX_UPLOAD_BYTES`] of them. Other fields (a
/// submit button's name, say) are skipped. Over the limit, the rest of the field is read
/// and dropped, never kept.
async fn read_field(multipart: &mut Multipart) -> Result<Vec<u8>, Refusal> {
    let mut file: Option<Vec<u8>> = None;
    let mut too_large = false;
    while let Some(mut field) = multipart.next_field().await.map_err(refusal_for)? {
        let wanted = field.name() == Some(FIELD) && file.is_none() && !too_large;
        let mut buffer = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(refusal_for)? {
            if !wanted || too_large {
                continue;
            }
            if buffer.len() + chunk.len() > MAX_UPLOAD_BYTES {
                too_large = true;
                buffer = Vec::new();
            } else {
                buffer.extend_from_slice(&chunk);
            }
        }
        if wanted && !too_large {
            file = Some(buffer);
        }
    }
    if too_large {
        return Err(Refusal::Upload(UploadError::TooManyBytes));
    }
    match file {
        Some(bytes) if !bytes.is_empty() => Ok(bytes),
        // No field, or a browser's empty file part when nothing was chosen.
        _ => Err(Refusal::Upload(UploadError::Empty)),
    }
}

/// A broken multipart body: 413 when it ran into the global body limit, else 400.
fn refusal_for(error: MultipartError) -> Refusal {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Refusal::Upload(UploadError::TooManyBytes)
    } else {
        tracing::debug!(error = %error.body_text(), "malformed multipart body");
        Refusal::NotAForm
    }
}

/// Reads and drops the rest of a multipart body (bounded by the global body limit).
async fn drain(multipart: &mut Multipart) {
    while let Ok(Some(mut field)) = multipart.next_field().await {
        while let Ok(Some(_)) = field.chunk().await {}
    }
}

/// `POST /account/avatar/remove`: back to the initials. The form has no fields.
pub async fn remove(State(state): State<AppState>, parts: Parts) -> Response {
    let caller = Caller::of(&parts.headers);
    match clear_avatar(&state, &parts).await {
        Ok(()) => match caller {
            Caller::Browser => Redirect::to("/account?avatar=removed").into_response(),
            Caller::Script => Json(json!({ "avatar_url": null })).into_response(),
        },
        Err(refusal) => refusal.respond(caller),
    }
}

async fn clear_avatar(state: &AppState, parts: &Parts) -> Result<(), Refusal> {
    let member = signed_in(state, parts).await?.ok_or(Refusal::SignedOut)?;
    let removed = service::clear_avatar(&state.db, member.user_id).await?;
    tracing::info!(user_id = member.user_id, "avatar removed");
    forget_file(state, removed).await;
    Ok(())
}

/// Removes the file of an avatar no longer in use, as the privacy policy promises. The
/// member's change has already succeeded, so a failure here is logged, not reported.
async fn forget_file(state: &AppState, key: Option<String>) {
    let Some(key) = key else { return };
    if let Err(error) = member_data::remove_if_unused(&state.db, &state.media, &key).await {
        tracing::warn!(%error, "could not check whether an old avatar is still in use");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::features::accounts::avatar_view::avatar_error_message;
    use axum::http::HeaderValue;

    #[test]
    fn browsers_get_pages_and_scripts_get_json() {
        let mut headers = HeaderMap::new();
        assert_eq!(Caller::of(&headers), Caller::Script);
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        assert_eq!(Caller::of(&headers), Caller::Script);
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        );
        assert_eq!(Caller::of(&headers), Caller::Browser);
    }

    #[test]
    fn every_refusal_code_has_the_same_message_on_the_account_page() {
        let refusals = [
            Refusal::SignedOut,
            Refusal::NotAForm,
            Refusal::Internal,
            Refusal::Upload(UploadError::Empty),
            Refusal::Upload(UploadError::TooManyBytes),
            Refusal::Upload(UploadError::UnsupportedType),
            Refusal::Upload(UploadError::TooManyPixels),
            Refusal::Upload(UploadError::Unreadable),
            Refusal::Upload(UploadError::Encoding("detail".into())),
        ];
        for refusal in refusals {
            assert_eq!(
                avatar_error_message(refusal.code()),
                Some(refusal.message().as_str()),
                "{}",
                refusal.code()
            );
        }
    }

    #[test]
    fn statuses_follow_trust_md() {
        assert_eq!(Refusal::Upload(UploadError::TooManyBytes).status(), 413);
        assert_eq!(Refusal::Upload(UploadError::UnsupportedType).status(), 415);
        assert_eq!(Refusal::Upload(UploadError::Unreadable).status(), 415);
        assert_eq!(Refusal::Upload(UploadError::TooManyPixels).status(), 400);
        assert_eq!(Refusal::SignedOut.status(), 401);
    }
}
