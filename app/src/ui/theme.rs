//! Light/dark switch. The page follows the system setting until the visitor chooses; the
//! choice lives on `<html data-theme>` for this visit (persisting it is a preference cookie,
//! which waits for cookie consent).

use leptos::prelude::*;

// Only the browser build constructs themes; the server renders the unknown state.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Theme {
    Light,
    Dark,
}

#[cfg(feature = "hydrate")]
fn current_theme() -> Theme {
    let explicit = document()
        .document_element()
        .and_then(|html| html.get_attribute("data-theme"));
    match explicit.as_deref() {
        Some("dark") => Theme::Dark,
        Some("light") => Theme::Light,
        _ => {
            let prefers_dark = window()
                .match_media("(prefers-color-scheme: dark)")
                .ok()
                .flatten()
                .is_some_and(|query| query.matches());
            if prefers_dark {
                Theme::Dark
            } else {
                Theme::Light
            }
        }
    }
}

#[component]
pub fn ThemeToggle() -> impl IntoView {
    // Unknown until hydration: the server cannot see the visitor's system setting.
    let theme = RwSignal::new(None::<Theme>);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| theme.set(Some(current_theme())));

    let toggle = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let next = match current_theme() {
                Theme::Dark => Theme::Light,
                Theme::Light => Theme::Dark,
            };
            if let Some(html) = document().document_element() {
                let value = if next == Theme::Dark { "dark" } else { "light" };
                let _ = html.set_attribute("data-theme", value);
            }
            theme.set(Some(next));
        }
    };
    let label = move || match theme.get() {
        Some(Theme::Dark) => "Switch to light theme",
        Some(Theme::Light) => "Switch to dark theme",
        None => "Switch colour theme",
    };

    view! {
        <button
            type="button"
            class="theme-toggle inline-flex size-10 items-center justify-center rounded-full text-muted hover:bg-sunken hover:text-ink"
            on:click=toggle
            aria-label=label
            title=label
            data-theme-state=move || match theme.get() { Some(Theme::Dark) => "dark", Some(Theme::Light) => "light", None => "unknown" }
        >
            <svg class="icon-moon size-5" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.8" aria-hidden="true">
                <path d="M20 14.5A8.5 8.5 0 0 1 9.5 4a8.5 8.5 0 1 0 10.5 10.5Z" stroke-linejoin="round"/>
            </svg>
            <svg class="icon-sun size-5" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.8" aria-hidden="true">
                <circle cx="12" cy="12" r="4"/>
                <path d="M12 2v2m0 16v2M4.9 4.9l1.4 1.4m11.4 11.4 1.4 1.4M2 12h2m16 0h2M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4" stroke-linecap="round"/>
            </svg>
        </button>
    }
}
