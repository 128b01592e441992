//! PostHog, only after analytics consent: the settings the browser needs, and the one
//! component that adds our loader (`public/analytics.js`) when analytics is allowed and
//! tells it, through `<html data-analytics>`, when the visitor withdraws. Without consent
//! the page holds no analytics script and the browser sends nothing to PostHog.

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

/// Puts the loader in the page while analytics is allowed; nothing at all when PostHog is
/// not configured. A page rendered with analytics already allowed carries the script; a
/// choice made on the page adds it with `createElement`, which (unlike markup inserted
/// from a string) the browser runs.
#[component]
pub fn Analytics() -> impl IntoView {
    let Some(PostHogSettings { key, host }) = configured() else {
        return ().into_any();
    };
    let consent = use_consent();
    let allowed = move || consent.state.with(|state| state.allows(Category::Analytics));
    let (effect_key, effect_host) = (key.clone(), host.clone());
    // The loader stays running once started (a script cannot be unloaded), so withdrawal
    // reaches it through this attribute: it stops capture and deletes PostHog's storage.
    Effect::new(move |_| {
        let allowed = allowed();
        let document = document();
        if let Some(root) = document.document_element() {
            let _ = root.set_attribute("data-analytics", if allowed { "granted" } else { "denied" });
        }
        let present = document
            .query_selector(&format!("script[src=\"{LOADER_PATH}\"]"))
            .ok()
            .flatten()
            .is_some();
        if allowed && !present {
            add_loader(&document, &effect_key, &effect_host);
        }
    });
    let rendered_allowed = consent.state.with_untracked(|state| state.allows(Category::Analytics));
    rendered_allowed
        .then(|| view! { <script src=LOADER_PATH defer data-key=key data-host=host></script> })
        .into_any()
}

fn add_loader(document: &web_sys::Document, key: &str, host: &str) {
    let Ok(script) = document.create_element("script") else {
        return;
    };
    for (name, value) in [("src", LOADER_PATH), ("data-key", key), ("data-host", host)] {
        let _ = script.set_attribute(name, value);
    }
    if let Some(body) = document.body() {
        let _ = body.append_child(&script);
    }
}
