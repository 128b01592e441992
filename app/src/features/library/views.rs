//! Library pages: home (newest with “Show more”), /photos (paged, searchable, works without
//! JavaScript) and /contributors.

use super::{
    api::{browse_images, list_contributors},
    ContributorCard, ImageCard, ImagePage,
};
use crate::{
    error::AppError,
    ui::{
        meta::PageMeta,
        status::{EmptyState, ErrorNotice, GridSkeleton},
    },
};
use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_query_map};

/// How many tiles load eagerly with high priority: they are the page's largest paint.
const EAGER_TILES: usize = 4;

#[component]
fn ImageTile(image: ImageCard, eager: bool) -> impl IntoView {
    let ratio = image.width as f32 / image.height.max(1) as f32;
    let style = format!("--r:{ratio:.4};background-color:{}", image.dominant_color);
    let srcset = format!("{} 400w, {} 800w", image.thumb_url, image.small_url);
    view! {
        <li class="image-tile group" style=style data-image-id=image.public_id.clone()>
            <a href=format!("/photos/{}", image.public_id) class="block size-full" aria-label=format!("{} by {}", image.title, image.contributor_name)>
                <img
                    src=image.thumb_url.clone()
                    srcset=srcset
                    sizes="(min-width: 1024px) 30vw, (min-width: 640px) 45vw, 90vw"
                    width=image.width
                    height=image.height
                    alt=image.alt_text.clone()
                    loading=if eager { "eager" } else { "lazy" }
                    fetchpriority=if eager { "high" } else { "auto" }
                    decoding="async"
                    class="size-full object-cover"
                />
            </a>
            <div class="tile-caption">
                <p class="truncate font-medium">{image.title.clone()}</p>
                <p class="truncate text-xs opacity-80">{image.contributor_name.clone()}</p>
            </div>
        </li>
    }
}

/// A justified grid: each tile grows in proportion to its aspect ratio, so rows fill the
/// width without cropping much, and appended tiles never move the ones already shown.
#[component]
pub(super) fn ImageGrid(
    #[prop(into)] images: Signal<Vec<ImageCard>>,
    #[prop(default = 0)] eager: usize,
) -> impl IntoView {
    view! {
        <ul class="image-grid" data-testid="image-grid">
            <For
                each=move || images.get().into_iter().enumerate()
                key=|(_, image)| image.public_id.clone()
                children=move |(index, image)| view! { <ImageTile image eager=index < eager/> }
            />
            <li class="image-grid-filler" aria-hidden="true"></li>
        </ul>
    }
}

#[component]
pub fn HomePage() -> impl IntoView {
    let first_page = Resource::new(|| (), |_| browse_images(1, String::new()));
    view! {
        <PageMeta
            title=""
            description="Free AI-made images by a studio of AI artists. Download any size, use them for anything, no sign-up needed."
        />
        <section class="mx-auto max-w-7xl px-4 pb-10 pt-14 sm:px-6 sm:pt-20">
            <p class="text-sm font-semibold uppercase tracking-widest text-accent">"Free to use, forever"</p>
            <h1 class="mt-3 max-w-3xl text-balance font-display text-4xl font-semibold tracking-tight text-ink sm:text-6xl">
                "Images made by AI artists, free for anything you make."
            </h1>
            <p class="mt-5 max-w-2xl text-lg text-muted">
                "Every image in the library is free for personal and commercial use. No watermark, no attribution, no account needed to download."
            </p>
        </section>
        <section aria-labelledby="newest-heading" class="mx-auto max-w-7xl px-4 sm:px-6">
            <div class="mb-5 flex items-baseline justify-between">
                <h2 id="newest-heading" class="font-display text-2xl font-semibold text-ink">"Newest"</h2>
                <A href="/photos" attr:class="text-sm font-medium text-accent hover:underline">"See the whole library"</A>
            </div>
            <Suspense fallback=|| view! { <GridSkeleton/> }>
                {move || Suspend::new(async move {
                    match first_page.await {
                        Ok(page) => view! { <NewestWithMore first=page/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error retry_href="/"/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The first page plus any pages fetched in place with “Show more” (a server function call
/// after hydration; a plain link to page 2 of the library before it).
#[component]
fn NewestWithMore(first: ImagePage) -> impl IntoView {
    if first.images.is_empty() {
        return view! {
            <EmptyState title="The library is empty" message="No images have been published yet. An administrator can load the demo library with `server seed-demo`.">
                <span></span>
            </EmptyState>
        }
        .into_any();
    }
    let images = RwSignal::new(first.images);
    let next_page = RwSignal::new(first.page + 1);
    let has_more = RwSignal::new(first.has_more);
    let loading = RwSignal::new(false);
    let failure = RwSignal::new(None::<AppError>);

    let show_more = move |event: leptos::ev::MouseEvent| {
        event.prevent_default();
        if loading.get_untracked() {
            return;
        }
        loading.set(true);
        failure.set(None);
        leptos::task::spawn_local(async move {
            match browse_images(next_page.get_untracked(), String::new()).await {
                Ok(page) => {
                    images.update(|list| list.extend(page.images));
                    next_page.set(page.page + 1);
                    has_more.set(page.has_more);
                }
                Err(error) => failure.set(Some(error)),
            }
            loading.set(false);
        });
    };

    view! {
        <ImageGrid images eager=EAGER_TILES/>
        <div class="mt-8 flex flex-col items-center gap-3">
            <Show when=move || failure.get().is_some()>
                <p role="alert" class="text-sm text-danger">{move || failure.get().map(|e| e.to_string())}</p>
            </Show>
            <Show
                when=move || has_more.get()
                fallback=|| view! { <p class="text-sm text-muted">"You've reached the end of the newest images."</p> }
            >
                <a
                    href=move || format!("/photos?page={}", next_page.get())
                    class="btn-secondary"
                    data-testid="show-more"
                    aria-busy=move || loading.get().to_string()
                    on:click=show_more
                >
                    {move || if loading.get() { "Loading…" } else { "Show more" }}
                </a>
            </Show>
        </div>
    }
    .into_any()
}

/// Reads `page` and `q` from the query string; bad values fall back to page 1.
fn page_and_query() -> (Memo<u32>, Memo<String>) {
    let params = use_query_map();
    let page = Memo::new(move |_| {
        params
            .read()
            .get("page")
            .and_then(|p| p.parse::<u32>().ok())
            .filter(|p| *p >= 1)
            .unwrap_or(1)
    });
    let query = Memo::new(move |_| params.read().get("q").unwrap_or_default().trim().to_owned());
    (page, query)
}

fn library_href(page: u32, query: &str) -> String {
    let mut href = format!("/photos?page={page}");
    if !query.is_empty() {
        href.push_str("&q=");
        href.push_str(&encode_query_value(query));
    }
    href
}

/// Percent-encodes a query value (letters, digits and `-._~` stay as they are).
fn encode_query_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            b' ' => "+".to_owned(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[component]
pub fn LibraryPage() -> impl IntoView {
    let (page, query) = page_and_query();
    let results = Resource::new(
        move || (page.get(), query.get()),
        |(page, query)| browse_images(page, query),
    );
    let title = Signal::derive(move || {
        let q = query.get();
        match (q.is_empty(), page.get()) {
            (true, 1) => "Library".to_owned(),
            (true, p) => format!("Library, page {p}"),
            (false, _) => format!("“{q}” images"),
        }
    });
    view! {
        <PageMeta title description="Browse every free AI-made image in the library, newest first."/>
        <section class="mx-auto max-w-7xl px-4 pt-10 sm:px-6">
            <h1 class="font-display text-3xl font-semibold tracking-tight text-ink">
                {move || if query.get().is_empty() { "The library".to_owned() } else { format!("Results for “{}”", query.get()) }}
            </h1>
            <p class="mt-2 text-muted">"Newest first. Every image is free to use."</p>
            <div class="mt-8">
                <Transition fallback=|| view! { <GridSkeleton/> }>
                    {move || Suspend::new(async move {
                        match results.await {
                            Ok(result) => view! { <LibraryResults result query=query.get_untracked()/> }.into_any(),
                            Err(error) => view! { <ErrorNotice error retry_href="/photos"/> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </section>
    }
}

#[component]
fn LibraryResults(result: ImagePage, query: String) -> impl IntoView {
    if result.images.is_empty() {
        let (title, message) = if query.is_empty() {
            ("Nothing here", "There are no images on this page.".to_owned())
        } else {
            (
                "No matches",
                format!("No image matches “{query}”. Try a broader word, such as a colour or a mood."),
            )
        };
        return view! {
            <EmptyState title=title message=message>
                <A href="/photos" attr:class="btn-secondary">"See all images"</A>
            </EmptyState>
        }
        .into_any();
    }
    let page = result.page;
    let previous = (page > 1).then(|| library_href(page - 1, &query));
    let next = result.has_more.then(|| library_href(page + 1, &query));
    let pager = (previous.is_some() || next.is_some()).then(|| {
        view! {
            <nav aria-label="Pages" class="mt-10 flex items-center justify-center gap-3">
                {previous.map(|href| view! { <A href=href attr:class="btn-secondary" attr:rel="prev">"Previous"</A> })}
                <span class="text-sm text-muted" aria-current="page">{format!("Page {page}")}</span>
                {next.map(|href| view! { <A href=href attr:class="btn-secondary" attr:rel="next">"Next"</A> })}
            </nav>
        }
    });
    view! {
        <ImageGrid images=Signal::stored(result.images) eager=EAGER_TILES/>
        {pager}
    }
    .into_any()
}

#[component]
pub fn ContributorsPage() -> impl IntoView {
    let contributors = Resource::new(|| (), |_| list_contributors());
    view! {
        <PageMeta title="Contributors" description="Meet the AI artists whose work fills the library: their styles, their stories and their images."/>
        <section class="mx-auto max-w-7xl px-4 pt-10 sm:px-6">
            <h1 class="font-display text-3xl font-semibold tracking-tight text-ink">"Contributors"</h1>
            <p class="mt-2 max-w-2xl text-muted">"Each image in the library comes from an AI artist with a style of their own."</p>
            <Suspense fallback=|| view! { <p class="mt-10 text-muted" aria-busy="true">"Loading contributors…"</p> }>
                {move || Suspend::new(async move {
                    match contributors.await {
                        Ok(list) if list.is_empty() => view! {
                            <EmptyState title="No contributors yet" message="Contributors appear here once they publish.">
                                <span></span>
                            </EmptyState>
                        }.into_any(),
                        Ok(list) => view! {
                            <ul class="mt-10 grid gap-6 sm:grid-cols-2 lg:grid-cols-3">
                                {list.into_iter().map(|c| view! { <ContributorTile contributor=c/> }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(error) => view! { <ErrorNotice error retry_href="/contributors"/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn ContributorTile(contributor: ContributorCard) -> impl IntoView {
    let initials: String = contributor
        .name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .collect();
    let count = match contributor.image_count {
        1 => "1 image".to_owned(),
        n => format!("{n} images"),
    };
    view! {
        <li id=contributor.slug.clone() class="overflow-hidden rounded-2xl border border-line bg-surface">
            <div class="grid h-32 grid-cols-3 gap-px overflow-hidden bg-line">
                {contributor
                    .preview_urls
                    .iter()
                    .map(|url| view! { <img src=url.clone() alt="" loading="lazy" class="h-32 w-full object-cover"/> })
                    .collect_view()}
            </div>
            <div class="flex gap-4 p-5">
                <span class="flex size-12 shrink-0 items-center justify-center rounded-full font-semibold text-white" style=format!("background-color:{}", contributor.accent_color)>
                    {initials}
                </span>
                <div class="min-w-0">
                    <h2 class="font-display text-lg font-semibold text-ink">{contributor.name.clone()}</h2>
                    <p class="text-sm text-accent">{contributor.style.clone()} " · " {count}</p>
                    <p class="mt-2 line-clamp-3 text-sm text-muted">{contributor.bio.clone()}</p>
                </div>
            </div>
        </li>
    }
}
