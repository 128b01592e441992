//! `/contributors/{slug}` and `/categories/{slug}`: who made the images or what holds
//! them, then the images themselves in a growing grid; unknown slugs answer 404.

use super::{
    api::{fetch_category, fetch_contributor},
    feed::{Feed, GrowingGrid},
    views::EAGER_TILES,
    CategoryProfile, ContributorProfile, ImagePage,
};
use crate::{
    error::AppError,
    features::chat::views::StartChatButton,
    ui::{
        meta::PageMeta,
        status::{EmptyState, ErrorNotice, GridSkeleton, NotFound},
    },
};
use leptos::prelude::*;
use leptos_router::{
    components::A,
    hooks::{use_params_map, use_query_map},
};

/// The `:slug` path segment and the `page` query value (1 when missing or not a page).
fn slug_and_page() -> (Memo<String>, Memo<u32>) {
    let params = use_params_map();
    let query = use_query_map();
    let slug = Memo::new(move |_| params.read().get("slug").unwrap_or_default());
    let page = Memo::new(move |_| {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<u32>().ok())
            .filter(|p| (1..=super::MAX_PAGE).contains(p))
            .unwrap_or(1)
    });
    (slug, page)
}

fn count_label(count: u32) -> String {
    match count {
        1 => "1 image".to_owned(),
        n => format!("{n} images"),
    }
}

/// The first letters of up to two words of a name: a monogram where there is no avatar.
pub fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|word| word.chars().next())
        .take(2)
        .collect()
}

#[component]
fn ProfileSkeleton() -> impl IntoView {
    view! {
        <div class="mx-auto max-w-7xl px-4 pt-10 sm:px-6" aria-busy="true">
            <div class="h-24 max-w-xl animate-pulse rounded-2xl bg-line/40"></div>
            <div class="mt-10"><GridSkeleton/></div>
        </div>
    }
}

/// A profile route: loads the slug's page of data, then shows it, a 404 or an error.
fn profile_route<P, Fut>(
    fetch: fn(String, u32) -> Fut,
    retry_href: &'static str,
    show: fn(P) -> AnyView,
) -> impl IntoView
where
    P: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    Fut: std::future::Future<Output = Result<Option<P>, AppError>> + Send + 'static,
{
    let (slug, page) = slug_and_page();
    let profile = Resource::new(move || (slug.get(), page.get()), move |(slug, page)| fetch(slug, page));
    view! {
        <Transition fallback=|| view! { <ProfileSkeleton/> }>
            {move || Suspend::new(async move {
                match profile.await {
                    Ok(Some(profile)) => show(profile),
                    Ok(None) => view! { <NotFound/> }.into_any(),
                    Err(error) => view! { <ErrorNotice error retry_href/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// A profile's images in a growing grid, or a designed empty state.
#[component]
fn ProfileImages(
    feed: Feed,
    images: ImagePage,
    empty_title: &'static str,
    empty_message: &'static str,
) -> impl IntoView {
    if images.images.is_empty() {
        view! {
            <EmptyState title=empty_title message=empty_message>
                <A href="/photos" attr:class="btn-secondary">"Browse the library"</A>
            </EmptyState>
        }
        .into_any()
    } else {
        view! { <GrowingGrid feed first=images endless=true eager=EAGER_TILES/> }.into_any()
    }
}

#[component]
pub fn ContributorPage() -> impl IntoView {
    profile_route(fetch_contributor, "/contributors", |profile| {
        view! { <ContributorView profile/> }.into_any()
    })
}

#[component]
fn ContributorView(profile: ContributorProfile) -> impl IntoView {
    let description = format!("{} — {}. {}", profile.name, profile.style, profile.bio);
    let title = match profile.images.page {
        1 => profile.name.clone(),
        page => format!("{}, page {page}", profile.name),
    };
    let feed = Feed::Contributor(profile.slug.clone());
    let search_href = format!("/search?contributor={}", profile.slug);
    view! {
        <PageMeta title description/>
        <section class="mx-auto max-w-7xl px-4 pt-10 sm:px-6">
            <A href="/contributors" attr:class="text-sm font-medium text-accent hover:underline">"All contributors"</A>
            <header class="mt-4 flex flex-col gap-5 sm:flex-row sm:items-center">
                <span
                    class="flex size-20 shrink-0 items-center justify-center rounded-full font-display text-2xl font-semibold text-white"
                    style=format!("background-color:{}", profile.accent_color)
                    aria-hidden="true"
                >
                    {initials(&profile.name)}
                </span>
                <div class="min-w-0">
                    <h1 class="font-display text-3xl font-semibold tracking-tight text-ink sm:text-4xl">{profile.name.clone()}</h1>
                    <p class="mt-1 text-accent">
                        {profile.style.clone()}
                        {profile.location.clone().map(|place| format!(" · {place}"))}
                        " · "
                        {count_label(profile.image_count)}
                    </p>
                    <p class="mt-3 max-w-2xl text-muted">{profile.bio.clone()}</p>
                </div>
            </header>
            <div class="mt-6 flex flex-wrap items-start gap-3">
                <StartChatButton slug=profile.slug.clone() name=profile.name.clone()/>
                <a href=search_href class="btn-secondary">"Search their images"</a>
            </div>
            <div class="mt-10">
                <ProfileImages
                    feed
                    images=profile.images
                    empty_title="No images here yet"
                    empty_message="This contributor has nothing published on this page."
                />
            </div>
        </section>
    }
}

#[component]
pub fn CategoryPage() -> impl IntoView {
    profile_route(fetch_category, "/photos", |profile| {
        view! { <CategoryView profile/> }.into_any()
    })
}

#[component]
fn CategoryView(profile: CategoryProfile) -> impl IntoView {
    let title = match profile.images.page {
        1 => format!("{} images", profile.name),
        page => format!("{} images, page {page}", profile.name),
    };
    let description = format!(
        "Free AI-made {} images. {}",
        profile.name.to_lowercase(),
        profile.description
    );
    let feed = Feed::Category(profile.slug.clone());
    let search_href = format!("/search?category={}", profile.slug);
    view! {
        <PageMeta title description/>
        <section class="mx-auto max-w-7xl px-4 pt-10 sm:px-6">
            <p class="text-sm font-semibold uppercase tracking-widest text-accent">"Category"</p>
            <h1 class="mt-2 font-display text-3xl font-semibold tracking-tight text-ink sm:text-4xl">{profile.name.clone()}</h1>
            <p class="mt-2 max-w-2xl text-muted">{profile.description.clone()} " " {count_label(profile.image_count)} "."</p>
            <div class="mt-6">
                <a href=search_href class="btn-secondary">"Search in this category"</a>
            </div>
            <div class="mt-10">
                <ProfileImages
                    feed
                    images=profile.images
                    empty_title="Nothing in this category yet"
                    empty_message="Images appear here once they are published."
                />
            </div>
        </section>
    }
}
