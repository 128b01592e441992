//! The cookie banner, the footer's "Cookie settings" link and the `/cookies` page. The
//! banner is plain HTML forms rendered by the server, so a choice works before hydration
//! (and without JavaScript); it floats over the page, so it shifts no layout.

use super::{api::SaveConsent, consent::ConsentState, cookies::CookieList};
use crate::ui::{
    form::{action_error, FormAlert},
    meta::PageMeta,
};
use leptos::{form::ActionForm, prelude::*};

/// The consent state every component can read, and whether the visitor reopened the banner.
#[derive(Clone, Copy)]
pub struct Consent {
    pub state: RwSignal<ConsentState>,
    pub reopened: RwSignal<bool>,
}

/// Reads the request's consent on the server and hands the same value to the browser during
/// hydration, so both render the same banner.
pub fn provide_consent() -> Consent {
    let initial = leptos::server::SharedValue::new(|| {
        #[cfg(feature = "ssr")]
        {
            super::api::request_consent()
        }
        #[cfg(not(feature = "ssr"))]
        {
            ConsentState::default()
        }
    })
    .into_inner();
    let consent = Consent {
        state: RwSignal::new(initial),
        reopened: RwSignal::new(false),
    };
    provide_context(consent);
    consent
}

pub fn use_consent() -> Consent {
    expect_context::<Consent>()
}

/// Fixed at the foot of the window until the visitor chooses (or reopens it).
#[component]
pub fn ConsentBanner() -> impl IntoView {
    let consent = use_consent();
    let location = leptos_router::hooks::use_location();
    // `/cookies` holds the same choices in the page itself.
    let on_cookie_page = move || location.pathname.with(|path| path == "/cookies");
    let visible =
        move || !on_cookie_page() && (consent.state.with(ConsentState::needs_banner) || consent.reopened.get());
    view! {
        <Show when=visible>
            <section
                id="cookie-banner"
                aria-labelledby="cookie-banner-heading"
                class="fixed inset-x-3 bottom-3 z-50 mx-auto max-w-2xl rounded-2xl border border-line bg-surface p-5 shadow-2xl sm:bottom-5 sm:p-6"
                data-testid="consent-banner"
            >
                <h2 id="cookie-banner-heading" class="font-display text-lg font-semibold text-ink">"Your cookie choices"</h2>
                <p class="mt-2 text-sm text-muted">
                    "Strictly necessary cookies keep you signed in and remember this choice. With your permission we also remember preferences, such as your download size, and measure how the site is used. We never sell data or show ads. "
                    <a href="/cookies" class="font-medium text-accent hover:underline">"Every cookie we set"</a>
                </p>
                <ConsentChoices expanded=consent.reopened/>
            </section>
        </Show>
    }
}

/// Accept all / Reject all with equal weight, and a Customise panel with one switch per
/// optional category. Three small forms share one action, so each button posts exactly its
/// own choice with or without JavaScript.
#[component]
pub fn ConsentChoices(#[prop(into)] expanded: Signal<bool>) -> impl IntoView {
    let consent = use_consent();
    let action = ServerAction::<SaveConsent>::new();
    let error = action_error(action);
    let pending = action.pending();
    Effect::new(move |_| {
        if let Some(Ok(saved)) = action.value().get() {
            consent.state.set(saved);
            consent.reopened.set(false);
        }
    });
    let current = consent.state.get_untracked();
    view! {
        <div class="mt-4 space-y-3">
            <FormAlert error/>
            <div class="flex flex-wrap gap-3">
                <ActionForm action=action attr:class="contents">
                    <input type="hidden" name="choice" value="reject"/>
                    <button type="submit" class="btn-secondary" disabled=pending data-testid="consent-reject">"Reject all"</button>
                </ActionForm>
                <ActionForm action=action attr:class="contents">
                    <input type="hidden" name="choice" value="accept"/>
                    <button type="submit" class="btn-secondary" disabled=pending data-testid="consent-accept">"Accept all"</button>
                </ActionForm>
            </div>
            <details class="group rounded-xl border border-line" open=move || expanded.get()>
                <summary class="cursor-pointer select-none rounded-xl px-4 py-2.5 text-sm font-semibold text-ink hover:bg-sunken" data-testid="consent-customise">
                    "Customise"
                </summary>
                <ActionForm action=action attr:class="space-y-3 px-4 pb-4 pt-1">
                    <input type="hidden" name="choice" value="custom"/>
                    <CategorySwitch name="essential" label="Strictly necessary" checked=true locked=true
                        help="Signing in (also through single sign-on) and this choice. Always on: the site cannot work without them."/>
                    <CategorySwitch name="preferences" label="Preferences" checked=current.preferences locked=false
                        help="Remembers choices such as the download size you picked last."/>
                    <CategorySwitch name="analytics" label="Analytics" checked=current.analytics locked=false
                        help="Counts which pages and features are used, to improve them. Off unless you turn it on."/>
                    <button type="submit" class="btn-primary" disabled=pending data-testid="consent-save">"Save my choices"</button>
                </ActionForm>
            </details>
        </div>
    }
}

#[component]
fn CategorySwitch(
    name: &'static str,
    label: &'static str,
    help: &'static str,
    checked: bool,
    locked: bool,
) -> impl IntoView {
    let id = format!("consent-{name}");
    let help_id = format!("{id}-help");
    view! {
        <div class="flex items-start gap-3">
            <input
                id=id.clone()
                type="checkbox"
                name=(!locked).then_some(name)
                value="on"
                checked=checked
                disabled=locked
                aria-describedby=help_id.clone()
                class="mt-1 size-4 accent-[var(--accent)]"
            />
            <label for=id class="text-sm">
                <span class="font-medium text-ink">{label}</span>
                <span id=help_id class="block text-muted">{help}</span>
            </label>
        </div>
    }
}

/// "Cookie settings": reopens the banner in place; before hydration (or without
/// JavaScript) it is a link to the `/cookies` page, which holds the same choices.
#[component]
pub fn CookieSettingsLink() -> impl IntoView {
    let consent = use_consent();
    let location = leptos_router::hooks::use_location();
    let reopen = move |event: leptos::ev::MouseEvent| {
        if location.pathname.with_untracked(|path| path == "/cookies") {
            return;
        }
        event.prevent_default();
        consent.reopened.set(true);
        #[cfg(feature = "hydrate")]
        request_animation_frame(|| {
            use leptos::wasm_bindgen::JsCast;
            // Keyboard and screen-reader users land on the choices they asked for.
            if let Some(banner) = document()
                .get_element_by_id("cookie-banner")
                .and_then(|element| element.dyn_into::<leptos::web_sys::HtmlElement>().ok())
            {
                let _ = banner.set_attribute("tabindex", "-1");
                let _ = banner.focus();
            }
        });
    };
    view! {
        <a href="/cookies" class="hover:text-ink" on:click=reopen data-testid="cookie-settings-link">"Cookie settings"</a>
    }
}

/// `/cookies`: what each cookie is for, the current choice, and the choices themselves.
#[component]
pub fn CookiesPage() -> impl IntoView {
    let consent = use_consent();
    let summary = move || {
        let state = consent.state.get();
        if !state.decided && state.gpc {
            "Your browser sends Global Privacy Control, so analytics is off and nothing optional is stored. You can still choose below.".to_owned()
        } else if !state.decided {
            "You have not chosen yet, so only strictly necessary cookies are set.".to_owned()
        } else {
            let on_off = |allowed: bool| if allowed { "on" } else { "off" };
            format!(
                "Preferences are {} and analytics is {}.",
                on_off(state.preferences),
                on_off(state.analytics)
            )
        }
    };
    view! {
        <PageMeta title="Cookie settings".to_owned() description="Which cookies Atelier sets, why, and your choice.".to_owned()/>
        <div class="mx-auto max-w-3xl px-4 py-12 sm:px-6">
            <h1 class="font-display text-3xl font-semibold tracking-tight text-ink">"Cookie settings"</h1>
            <p class="mt-3 text-muted" data-testid="consent-summary" aria-live="polite">{summary}</p>
            <div class="card mt-8">
                <h2 class="font-semibold text-ink">"Your choice"</h2>
                <ConsentChoices expanded=Signal::stored(true)/>
            </div>
            <h2 class="mt-12 font-display text-xl font-semibold text-ink">"Every cookie we set"</h2>
            <CookieList/>
        </div>
    }
}
