//! The state every request handler and server function can reach, provided through Leptos
//! context by `leptos_routes_with_context` (never a global).

use super::{
    config::Config, db::Database, jobs::JobQueue, mail::Mailer, media::MediaStore, rate_limit::AuthRateLimits,
};
use axum::extract::FromRef;
use leptos::prelude::*;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub config: Arc<Config>,
    pub db: Database,
    pub jobs: JobQueue,
    pub media: MediaStore,
    pub auth_limits: AuthRateLimits,
    pub mailer: Mailer,
    /// Single sign-on, when `ATELIER_OIDC_*` is configured.
    pub oidc: Option<Arc<crate::features::accounts::oidc::Oidc>>,
    /// Stripe, when `ATELIER_STRIPE_*` is configured; `None` on an instance without payments.
    pub payments: Option<Arc<crate::features::billing::stripe::Payments>>,
    /// The chat model, when `ATELIER_CHAT_*` is configured; `None` and chat says how to set one up.
    pub chat: Option<Arc<crate::features::chat::provider::ChatProvider>>,
    /// Counts page views and searches (`usage_events`).
    pub usage: super::usage::UsageRecorder,
    /// Signs download links and keys view de-duplication.
    pub secret_key: super::signing::SecretKey,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The application state inside a server function or a server render.
pub fn app_state() -> AppState {
    expect_context::<AppState>()
}
