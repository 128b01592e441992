//! Per-page `<title>` and meta description, and the configured site name on both sides.

use leptos::prelude::*;
use leptos_meta::{Meta, Title};

/// The site name from configuration. The server reads it from state and writes it into
/// `<meta name="application-name">`; the browser reads that tag back, so both render alike.
pub fn site_name() -> String {
    #[cfg(feature = "ssr")]
    {
        use_context::<crate::platform::state::AppState>()
            .map(|state| state.config.site_name.clone())
            .unwrap_or_else(|| "Atelier".to_owned())
    }
    #[cfg(not(feature = "ssr"))]
    {
        document()
            .query_selector("meta[name=application-name]")
            .ok()
            .flatten()
            .and_then(|element| element.get_attribute("content"))
            .unwrap_or_else(|| "Atelier".to_owned())
    }
}

/// Sets the document title (“Page — Site”) and description for one page.
#[component]
pub fn PageMeta(#[prop(into)] title: Signal<String>, #[prop(into)] description: Signal<String>) -> impl IntoView {
    view! {
        <Title text=title/>
        <Meta name="description" content=description/>
    }
}
