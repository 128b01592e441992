//! `POST /webhooks/stripe`: Stripe's event deliveries. The body is read raw (the signature
//! covers its exact bytes), recorded and queued; Stripe gets 200 at once, 400 for anything
//! unsigned or malformed (after which nothing was written), 404 where payments are off.

use app::{
    features::billing::webhook::{self, Received, WebhookError},
    platform::{clock::now_unix, state::AppState},
};
use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::IntoResponse,
    routing::post,
    Json, Router,
};
use serde_json::json;

/// Stripe's events are small; a larger body is not one.
const MAX_EVENT_BYTES: usize = 512 * 1024;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/webhooks/stripe",
        post(receive).layer(axum::extract::DefaultBodyLimit::max(MAX_EVENT_BYTES)),
    )
}

async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let Some(payments) = &state.payments else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "payments are not configured" })),
        );
    };
    let signature = headers.get("stripe-signature").and_then(|value| value.to_str().ok());
    match webhook::receive(
        &state.db,
        signature,
        &body,
        &payments.settings.webhook_secrets,
        now_unix(),
    )
    .await
    {
        Ok(Received::New) => (StatusCode::OK, Json(json!({ "received": true }))),
        Ok(Received::Duplicate) => (StatusCode::OK, Json(json!({ "received": true, "duplicate": true }))),
        Err(WebhookError::Database(error)) => {
            // Stripe retries a 5xx delivery, so nothing is lost.
            tracing::error!(%error, "a Stripe event could not be recorded");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "error": "try again later" })),
            )
        }
        Err(error) => {
            tracing::warn!(%error, "a Stripe webhook was refused");
            (StatusCode::BAD_REQUEST, Json(json!({ "error": error.to_string() })))
        }
    }
}
