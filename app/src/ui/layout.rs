//! The page frame: skip link, header (brand, search, navigation, theme, and a menu on
//! small screens) and footer.

use super::{meta::site_name, theme::ThemeToggle};
use crate::features::privacy::banner::CookieSettingsLink;
use leptos::{html::Details, prelude::*};
use leptos_router::{
    components::{Form, A},
    hooks::use_location,
};

#[component]
pub fn SkipLink() -> impl IntoView {
    view! {
        <a href="#main" class="sr-only focus:not-sr-only focus:fixed focus:left-4 focus:top-4 focus:z-50 focus:rounded-lg focus:bg-surface focus:px-4 focus:py-2 focus:text-ink focus:shadow-lg">
            "Skip to content"
        </a>
    }
}

/// `children` fill the account slot at the end of the navigation.
#[component]
pub fn SiteHeader(children: Children) -> impl IntoView {
    let name = site_name();
    let home_label = format!("{name} home");
    view! {
        <header class="sticky top-0 z-40 border-b border-line bg-canvas/85 backdrop-blur">
            <div class="mx-auto flex max-w-7xl flex-wrap items-center gap-x-6 gap-y-3 px-4 py-3 sm:px-6">
                <A href="/" attr:class="flex shrink-0 items-center gap-2 rounded-lg text-ink" attr:aria-label=home_label>
                    <svg class="size-8" viewBox="0 0 32 32" aria-hidden="true">
                        <rect width="32" height="32" rx="9" class="fill-accent"/>
                        <path d="M9 23 16 8l7 15M11.8 17.5h8.4" fill="none" stroke="white" stroke-width="2.6" stroke-linecap="round" stroke-linejoin="round"/>
                    </svg>
                    <span class="font-display text-lg font-semibold tracking-tight">{name}</span>
                </A>
                <Form action="/search" method="GET" attr:role="search" attr:class="order-3 w-full sm:order-none sm:w-auto sm:flex-1">
                    <label for="site-search" class="sr-only">"Search free images"</label>
                    <div class="relative">
                        <svg class="pointer-events-none absolute left-3 top-1/2 size-4 -translate-y-1/2 text-muted" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" aria-hidden="true">
                            <circle cx="11" cy="11" r="7"/>
                            <path d="m20 20-3.5-3.5" stroke-linecap="round"/>
                        </svg>
                        <input
                            id="site-search"
                            name="q"
                            type="search"
                            maxlength="100"
                            autocomplete="off"
                            placeholder="Search free images"
                            class="h-10 w-full rounded-full border border-line bg-surface pl-9 pr-4 text-sm text-ink placeholder:text-muted focus:border-accent"
                        />
                    </div>
                </Form>
                <nav aria-label="Main" class="ml-auto flex items-center gap-1 text-sm">
                    // On small screens these move into the account slot's menu.
                    <div class="hidden items-center gap-1 md:flex">
                        <MainLinks/>
                    </div>
                    <ThemeToggle/>
                    {children()}
                </nav>
            </div>
        </header>
    }
}

/// The site's main sections. Developers joins here when the API exists; a link to a page
/// that is not there yet would only lead to a 404.
#[component]
pub fn MainLinks() -> impl IntoView {
    view! {
        <A href="/photos" attr:class="nav-link">"Library"</A>
        <A href="/contributors" attr:class="nav-link">"Contributors"</A>
        <A href="/pricing" attr:class="nav-link">"Pricing"</A>
    }
}

/// The navigation on screens narrower than `md`, where the links do not fit in one row: a
/// disclosure (works without JavaScript) holding the main links and then `children` (the
/// account's). It closes when the page changes, and on Escape with focus back on its button.
#[component]
pub fn PhoneMenu(#[prop(optional)] children: Option<Children>) -> impl IntoView {
    let menu = NodeRef::<Details>::new();
    let location = use_location();
    Effect::new(move |_| {
        location.pathname.track();
        location.search.track();
        if let Some(details) = menu.get_untracked() {
            details.set_open(false);
        }
    });
    let on_keydown = move |event: leptos::ev::KeyboardEvent| {
        if event.key() != "Escape" {
            return;
        }
        if let Some(details) = menu.get_untracked() {
            if details.open() {
                details.set_open(false);
                if let Ok(Some(summary)) = details.query_selector("summary") {
                    use web_sys::wasm_bindgen::JsCast;
                    if let Ok(summary) = summary.dyn_into::<web_sys::HtmlElement>() {
                        let _ = summary.focus();
                    }
                }
            }
        }
    };
    view! {
        <details class="relative md:hidden" node_ref=menu on:keydown=on_keydown data-testid="phone-menu">
            <summary class="nav-link flex size-9 cursor-pointer list-none items-center justify-center px-0 [&::-webkit-details-marker]:hidden" aria-label="Menu">
                <svg class="size-5" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" aria-hidden="true">
                    <path d="M4 7h16M4 12h16M4 17h16"/>
                </svg>
            </summary>
            <div class="card absolute right-0 z-50 mt-2 flex w-60 flex-col gap-1 p-2 shadow-xl">
                <MainLinks/>
                {children.map(|children| children())}
            </div>
        </details>
    }
}

#[component]
pub fn SiteFooter() -> impl IntoView {
    let name = site_name();
    view! {
        <footer class="mt-24 border-t border-line">
            <div class="mx-auto flex max-w-7xl flex-col gap-4 px-4 py-10 text-sm text-muted sm:flex-row sm:items-center sm:justify-between sm:px-6">
                <p>
                    <span class="font-semibold text-ink">{name}</span>
                    " — free AI-made images. Use them for anything, commercial use included; no attribution needed."
                </p>
                <nav aria-label="Legal" class="flex gap-5">
                    <A href="/privacy" attr:class="hover:text-ink">"Privacy"</A>
                    <A href="/terms" attr:class="hover:text-ink">"Terms"</A>
                    <CookieSettingsLink/>
                </nav>
            </div>
        </footer>
    }
}
