//! Per-page `<title>` and meta description, and the configured site name on both sides.

use leptos::{prelude::*, text_prop::TextProp};
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

/// Sets the document title (“Page — Site”) and description for one page. Every page title
/// goes through here: nothing else may use `leptos_meta::Title` with a signal (see
/// [`title_text`]).
#[component]
pub fn PageMeta(#[prop(into)] title: Signal<String>, #[prop(into)] description: Signal<String>) -> impl IntoView {
    view! {
        <Title text=title_text(title)/>
        <Meta name="description" content=description/>
    }
}

/// The server's `<title>` is the title's value now, as plain text.
///
/// leptos_meta reads the title after the page has rendered, in leptos_integration_utils'
/// response future, which does not run inside the request's reactive arena (leptos_meta
/// 0.8.7, leptos_integration_utils 0.8.x; docs/ARCHITECTURE.md, "Page titles"). A signal
/// read there is looked up in whichever
/// request's arena the worker thread last entered: alone that is ours, but under concurrent
/// load it is another's, and the read panicked with "already been disposed" — one in seven
/// `SsrMode::Async` pages answered 500. A plain string touches no arena. The server renders
/// a page once, after its data is loaded, so the value now is the value then.
#[cfg(feature = "ssr")]
fn title_text(title: Signal<String>) -> TextProp {
    TextProp::from(title.get_untracked())
}

/// In the browser the title follows the signal (a conversation renamed in place).
#[cfg(not(feature = "ssr"))]
fn title_text(title: Signal<String>) -> TextProp {
    TextProp::from(move || title.get())
}
