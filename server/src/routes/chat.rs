//! `POST /chat/{id}/messages` (a new message) and `POST /chat/{id}/retry` (the last one
//! again): check, charge and stream the persona's reply as Server-Sent Events
//! (`event: delta` … `done` or `error`). A refusal before streaming is a status with a JSON
//! `{"message"}`. A plain form post (no JavaScript) waits for the whole reply and comes
//! back to the conversation, with `?error=` naming what went wrong.

use app::{
    features::{
        accounts::session,
        chat::{
            conversation_href, persona,
            reply::{self, ReplyJob},
            safety,
            service::{self, Ask, ChatError},
        },
    },
    platform::{client_ip::ClientIp, clock::now_unix, state::AppState},
};
use axum::{
    body::Body,
    extract::{FromRequest, Path, Request, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::post,
    Form, Json, Router,
};
use futures::StreamExt;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/chat/{id}/messages", post(send))
        .route("/chat/{id}/retry", post(retry))
}

#[derive(Deserialize)]
struct Message {
    text: String,
}

async fn send(state: State<AppState>, Path(id): Path<String>, request: Request) -> Response {
    answer(state, id, request, true).await
}

async fn retry(state: State<AppState>, Path(id): Path<String>, request: Request) -> Response {
    answer(state, id, request, false).await
}

/// Why a reply did not start: the status, a code for the page without JavaScript, and
/// what the member reads.
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
}

fn refusal(status: StatusCode, code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        code,
        message: message.into(),
        retry_after: None,
    }
}

impl From<ChatError> for Refusal {
    fn from(error: ChatError) -> Self {
        match error {
            ChatError::NotFound => refusal(StatusCode::NOT_FOUND, "missing", "There is no such conversation."),
            ChatError::Invalid(message) => refusal(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message),
            ChatError::Refused(message) => refusal(StatusCode::UNPROCESSABLE_ENTITY, "refused", message),
            ChatError::Busy => refusal(StatusCode::CONFLICT, "busy", service::BUSY),
            ChatError::NoCredits { free_daily } => {
                refusal(StatusCode::PAYMENT_REQUIRED, "credits", service::no_credits(free_daily))
            }
            other => {
                tracing::error!(error = %other, "a chat reply could not start");
                refusal(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Something went wrong on our side. Nothing was charged; try again.",
                )
            }
        }
    }
}

/// Conversation ids are 12 characters of `[a-z2-9]`; anything else is no conversation (and
/// never reaches a `Location` header).
fn plausible_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 40
        && id
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit())
}

async fn answer(State(state): State<AppState>, id: String, request: Request, new_message: bool) -> Response {
    if !plausible_id(&id) {
        return (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({ "message": "There is no such conversation." })),
        )
            .into_response();
    }
    let streaming = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/event-stream"));
    match start(&state, &id, request, new_message).await {
        Ok(job) if streaming => {
            let mut response = Body::from_stream(reply::stream(job)).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, no-store"));
            // Tells nginx-style proxies not to buffer the stream.
            headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
            response
        }
        Ok(job) => {
            // Without JavaScript: the whole reply, then the page that shows it.
            reply::stream(job).for_each(|_| async {}).await;
            Redirect::to(&conversation_href(&id)).into_response()
        }
        Err(refusal) if streaming => {
            let mut response =
                (refusal.status, Json(serde_json::json!({ "message": refusal.message }))).into_response();
            if let Some(seconds) = refusal.retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            response
        }
        Err(refusal) if refusal.status == StatusCode::UNAUTHORIZED => {
            Redirect::to(&format!("/signin?next={}", conversation_href(&id))).into_response()
        }
        Err(refusal) => Redirect::to(&format!("{}?error={}", conversation_href(&id), refusal.code)).into_response(),
    }
}

/// Everything before the first byte of the reply: who, which conversation, what, whether
/// it may be sent, and its charge.
async fn start(state: &AppState, id: &str, request: Request, new_message: bool) -> Result<ReplyJob, Refusal> {
    let (parts, body) = request.into_parts();
    let member = session::of_request(&state.db, &state.config, &parts)
        .await
        .map_err(ChatError::Database)?
        .ok_or_else(|| refusal(StatusCode::UNAUTHORIZED, "signin", "Sign in to chat."))?;
    let Some(provider) = state.chat.clone() else {
        return Err(refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "off",
            "Chat is not set up on this instance, so nothing can answer.",
        ));
    };
    let ip = parts
        .extensions
        .get::<ClientIp>()
        .map(|ClientIp(ip)| ip.to_string())
        .unwrap_or_default();
    if let Err(seconds) = state.auth_limits.chat.check(&ip, &member.user_id.to_string()) {
        return Err(Refusal {
            retry_after: Some(seconds),
            ..refusal(
                StatusCode::TOO_MANY_REQUESTS,
                "limited",
                format!("You are sending messages faster than we can answer. Try again in {seconds} s."),
            )
        });
    }
    let conversation = service::owned(&state.db, member.user_id, id).await?;
    let ask_text = if new_message {
        let Form(message) = Form::<Message>::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|_| refusal(StatusCode::UNPROCESSABLE_ENTITY, "invalid", "Write a message first."))?;
        let text = service::clean_message(&message.text)?;
        safety::screen(&text).map_err(|refused| ChatError::Refused(refused.0))?;
        Some(text)
    } else {
        None
    };
    let ask = match &ask_text {
        Some(text) => Ask::Message(text),
        None => Ask::Retry,
    };
    let free_daily = service::free_daily(&state.db, member.user_id, provider.settings().free_daily).await?;
    let persona = persona::by_id(&state.db, conversation.contributor_id)
        .await
        .map_err(ChatError::Database)?
        .ok_or(ChatError::NotFound)?;
    let pending = service::begin(&state.db, member.user_id, &conversation, ask, free_daily, now_unix()).await?;
    Ok(ReplyJob {
        db: state.db.clone(),
        provider,
        user_id: member.user_id,
        reply_id: pending.reply_id,
        system: persona.system_prompt(&state.config.site_name),
        turns: pending.turns,
        title: pending.title,
    })
}
