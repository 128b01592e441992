//! Designed states every page shares: not found, error, signed out, empty and loading.

use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::components::A;

/// The 404 page; also sets the HTTP status when rendered on the server.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <super::meta::PageMeta
            title="Page not found"
            description="This page does not exist. Browse the library of free AI-made images instead."
        />
        <section class="mx-auto flex max-w-xl flex-col items-center px-6 py-24 text-center">
            <p class="text-sm font-semibold uppercase tracking-widest text-accent">"404"</p>
            <h1 class="mt-3 text-balance font-display text-4xl font-semibold text-ink">"We couldn't find that page"</h1>
            <p class="mt-4 text-muted">
                "The address may be mistyped, or the page may have moved. The library is a good place to start again."
            </p>
            <div class="mt-8 flex flex-wrap justify-center gap-3">
                <A href="/" attr:class="btn-primary">"Go home"</A>
                <A href="/photos" attr:class="btn-secondary">"Browse the library"</A>
            </div>
        </section>
    }
}

/// An inline error panel with the user-safe message and a way to try again.
#[component]
pub fn ErrorNotice(error: AppError, #[prop(optional, into)] retry_href: Option<String>) -> impl IntoView {
    view! {
        <div role="alert" class="mx-auto my-10 max-w-lg rounded-2xl border border-line bg-surface p-6 text-center">
            <p class="font-semibold text-ink">"That didn't load"</p>
            <p class="mt-2 text-sm text-muted">{error.to_string()}</p>
            {retry_href.map(|href| view! { <a href=href class="btn-secondary mt-4 inline-flex">"Try again"</a> })}
        </div>
    }
}

/// What a members-only page shows to someone signed out: what signing in is for, and a
/// way there that comes back to this page.
#[component]
pub fn SignInPrompt(#[prop(into)] heading: String, #[prop(into)] next: String) -> impl IntoView {
    view! {
        <div class="card mt-10 text-center">
            <p class="font-semibold text-ink">{heading}</p>
            <a href=format!("/signin?next={next}") class="btn-primary mt-5 inline-flex">"Sign in"</a>
        </div>
    }
}

/// Shown when a list has nothing in it.
#[component]
pub fn EmptyState(#[prop(into)] title: String, #[prop(into)] message: String, children: Children) -> impl IntoView {
    view! {
        <div class="mx-auto my-16 max-w-md text-center">
            <p class="font-display text-xl font-semibold text-ink">{title}</p>
            <p class="mt-2 text-muted">{message}</p>
            <div class="mt-6">{children()}</div>
        </div>
    }
}

/// Placeholder tiles with the grid's shape while images load.
#[component]
pub fn GridSkeleton(#[prop(default = 12)] tiles: u32) -> impl IntoView {
    let ratios = [1.5_f32, 0.8, 1.33, 1.0, 1.78, 0.75];
    view! {
        <ul class="image-grid" aria-busy="true" aria-label="Loading images">
            {(0..tiles)
                .map(|i| {
                    let ratio = ratios[i as usize % ratios.len()];
                    view! { <li class="image-tile skeleton" style=format!("--r:{ratio}")></li> }
                })
                .collect_view()}
        </ul>
    }
}

/// The body of a members-only page: a loading line while `data` loads, then `loaded` with
/// the data, a sign-in prompt that comes back to `path` when the visitor is signed out, or
/// the error with a way to load `path` again.
#[component]
pub fn MembersOnly<T, V, F>(
    data: Resource<Result<T, AppError>>,
    /// What is being loaded, as a sentence: "Loading your data…".
    loading: &'static str,
    /// The sign-in prompt's heading: what signing in is for on this page.
    sign_in: &'static str,
    /// This page's path.
    path: &'static str,
    loaded: F,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    V: IntoView + 'static,
    F: Fn(T) -> V + Clone + Send + Sync + 'static,
{
    view! {
        <Transition fallback=move || view! { <p class="mt-8 text-muted" aria-busy="true">{loading}</p> }>
            {move || {
                let loaded = loaded.clone();
                Suspend::new(async move {
                    match data.await {
                        Ok(value) => loaded(value).into_any(),
                        Err(AppError::Unauthorized) => view! { <SignInPrompt heading=sign_in next=path/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error retry_href=path/> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}
