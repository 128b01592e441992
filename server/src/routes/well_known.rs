//! `/.well-known/gpc.json`: tells Global Privacy Control clients that this site honours the
//! signal (https://privacycg.github.io/gpc-spec/#gpc-support-resource).

use app::features::privacy::POLICY_UPDATED;
use axum::{http::header, response::IntoResponse, Json};
use serde_json::json;

pub async fn gpc() -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "public, max-age=86400")],
        Json(json!({ "gpc": true, "lastUpdate": POLICY_UPDATED })),
    )
}
