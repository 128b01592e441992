//! PostHog, only after analytics consent: the settings the browser needs, and the one
//! component that puts our loader (`public/analytics.js`) in pages served with analytics
//! allowed and tells it, through `<html data-analytics>`, when the visitor withdraws.
//! Without consent the page holds no analytics script, and its Content-Security-Policy
//! does not let the browser send anything to PostHog.

use super::{banner::use_consent, consent::Category};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Our loader; it fetches PostHog's bundle from `/vendor/posthog.js`, never from a CDN.
pub const LOADER_PATH: &str = "/analytics.js";

/// A PostHog project: its public API key and the origin events are sent to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostHogSettings {
    pub key: String,
    pub host: String,
}

/// The configured PostHog, read on the server and handed to the browser with the page.
fn configured() -> Option<PostHogSettings> {
    leptos::server::SharedValue::new(|| {
        #[cfg(feature = "ssr")]
        {
            use_context::<crate::platform::state::AppState>().and_then(|state| state.config.posthog.clone())
        }
        #[cfg(not(feature = "ssr"))]
        {
            None
        }
    })
    .into_inner()
}

/// Puts the loader in the page when the page is served with analytics allowed; nothing at
/// all when PostHog is not configured. Only such a page's CSP names the analytics host
/// (`server::middleware::security_headers`), so a choice made on a page served without
/// it starts capture from the next page the server sends, not on this one: loaded here,
/// PostHog could send nothing. The loader stays running once started (a script cannot be
/// unloaded), so withdrawal reaches it through `<html data-analytics>`: it stops capture
/// and deletes PostHog's storage at once, and a later allow on the same page resumes it.
#[component]
pub fn Analytics() -> impl IntoView {
    let Some(PostHogSettings { key, host }) = configured() else {
        return ().into_any();
    };
    let consent = use_consent();
    let allowed = move || consent.state.with(|state| state.allows(Category::Analytics));
    Effect::new(move |_| {
        let allowed = allowed();
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-analytics", if allowed { "granted" } else { "denied" });
        }
    });
    let served_allowed = consent.state.with_untracked(|state| state.allows(Category::Analytics));
    served_allowed
        .then(|| view! { <script src=LOADER_PATH defer data-key=key data-host=host></script> })
        .into_any()
}
