//! Library pages: home (newest with “Show more”), /photos (newest or popular, endless
//! scrolling over real page links) and /contributors; and the image grid they share.

use super::{
    api::{browse_images, list_contributors},
    feed::{Feed, GrowingGrid},
    ContributorCard, ImageCard, Sort,
};
use crate::features::collections::save_views::{mark_saved_tiles, TileSaveButton};
use crate::ui::{
    meta::PageMeta,
    status::{EmptyState, ErrorNotice, GridSkeleton},
};
use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_query_map};

/// How many tiles load eagerly with high priority: they are the page's largest paint.
pub(super) const EAGER_TILES: usize = 4;

#[component]
fn ImageTile(image: ImageCard, eager: bool) -> impl IntoView {
    view! {
        <li class="image-tile group" style=tile_style(&image) data-image-id=image.public_id.clone()>
            <TilePicture image=image.clone() eager/>
            <TileSaveButton public_id=image.public_id.clone() title=image.title.clone()/>
        </li>
    }
}

/// A tile's size and placeholder colour, for its `<li>`: the grid lays tiles out by their
/// aspect ratio (`--r`).
pub fn tile_style(image: &ImageCard) -> String {
    let ratio = image.width as f32 / image.height.max(1) as f32;
    format!("--r:{ratio:.4};background-color:{}", image.dominant_color)
}

/// What every grid tile shows: the picture, as a link to the image page, and its caption
/// (with the search's matches marked). In a tile the member drags (a collection being
/// reordered), `in_draggable_tile` stops the browser from dragging the link or the image
/// instead of the tile.
#[component]
pub fn TilePicture(image: ImageCard, eager: bool, #[prop(optional)] in_draggable_tile: bool) -> impl IntoView {
    let ratio = image.width as f32 / image.height.max(1) as f32;
    let srcset = format!("{} 400w, {} 800w", image.thumb_url, image.small_url);
    let draggable = in_draggable_tile.then_some("false");
    view! {
        <a href=format!("/photos/{}", image.public_id) class="block size-full" aria-label=format!("{} by {}", image.title, image.contributor_name) draggable=draggable>
            <img
                src=image.thumb_url.clone()
                srcset=srcset
                sizes=tile_sizes(ratio)
                width=image.width
                height=image.height
                alt=image.alt_text.clone()
                loading=if eager { "eager" } else { "lazy" }
                fetchpriority=if eager { "high" } else { "auto" }
                decoding="async"
                class="size-full object-cover"
                draggable=draggable
            />
        </a>
        <div class=if image.title_marks.is_empty() { "tile-caption" } else { "tile-caption tile-caption-shown" }>
            <p class="truncate font-medium">
                {if image.title_marks.is_empty() {
                    image.title.clone().into_any()
                } else {
                    image
                        .title_marks
                        .iter()
                        .map(|(text, marked)| {
                            if *marked {
                                view! { <mark>{text.clone()}</mark> }.into_any()
                            } else {
                                text.clone().into_any()
                            }
                        })
                        .collect_view()
                        .into_any()
                }}
            </p>
            <p class="truncate text-xs opacity-80">{image.contributor_name.clone()}</p>
        </div>
    }
}

/// The width a tile is drawn at, for `sizes`: its aspect ratio times the grid's row height
/// (`--row-height` in the stylesheet), plus the third a row typically grows to fill the
/// width. Phones show one tile per row. Wide tiles on dense screens thus get the 800 px file
/// and narrow ones the 400 px file, instead of a guess per viewport.
fn tile_sizes(ratio: f32) -> String {
    let width = |row_height: f32| (ratio * row_height * 1.3).round() as u32;
    format!(
        "(min-width: 1280px) {}px, (min-width: 640px) {}px, 100vw",
        width(260.0),
        width(220.0)
    )
}

/// A justified grid: each tile grows in proportion to its aspect ratio, so rows fill the
/// width without cropping much, and appended tiles never move the ones already shown.
#[component]
pub(super) fn ImageGrid(
    #[prop(into)] images: Signal<Vec<ImageCard>>,
    #[prop(default = 0)] eager: usize,
) -> impl IntoView {
    mark_saved_tiles(Signal::derive(move || {
        images.with(|list| list.iter().map(|image| image.public_id.clone()).collect())
    }));
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
    let first_page = Resource::new(|| (), |_| browse_images(1, "newest".to_owned()));
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
                        Ok(page) if page.images.is_empty() => view! {
                            <EmptyState title="The library is empty" message="No images have been published yet. An administrator can load the demo library with `server seed-demo`.">
                                <span></span>
                            </EmptyState>
                        }.into_any(),
                        Ok(page) => view! { <GrowingGrid feed=Feed::Library(Sort::Newest) first=page eager=EAGER_TILES/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error retry_href="/"/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// Reads `page` and `sort` from the query string; anything unexpected means page 1, newest.
fn page_and_sort() -> (Memo<u32>, Memo<Sort>) {
    let params = use_query_map();
    let page = Memo::new(move |_| {
        params
            .read()
            .get("page")
            .and_then(|p| p.parse::<u32>().ok())
            .filter(|p| (1..=super::MAX_PAGE).contains(p))
            .unwrap_or(1)
    });
    let sort = Memo::new(move |_| match params.read().get("sort").as_deref() {
        Some("popular") => Sort::Popular,
        _ => Sort::Newest,
    });
    (page, sort)
}

#[component]
pub fn LibraryPage() -> impl IntoView {
    let (page, sort) = page_and_sort();
    let results = Resource::new(
        move || (page.get(), sort.get()),
        |(page, sort)| browse_images(page, sort.as_str().to_owned()),
    );
    let title = Signal::derive(move || {
        let name = match sort.get() {
            Sort::Popular => "Most downloaded",
            _ => "Library",
        };
        match page.get() {
            1 => name.to_owned(),
            p => format!("{name}, page {p}"),
        }
    });
    let tab = move |value: Sort, href: &'static str| {
        view! {
            <A
                href=href
                attr:class="sort-tab"
                attr:aria-current=move || (sort.get() == value).then_some("page")
            >
                {value.label()}
            </A>
        }
    };
    view! {
        <PageMeta title description="Browse every free AI-made image in the library, newest or most downloaded first."/>
        <section class="mx-auto max-w-7xl px-4 pt-10 sm:px-6">
            <div class="flex flex-wrap items-end justify-between gap-4">
                <div>
                    <h1 class="font-display text-3xl font-semibold tracking-tight text-ink">"The library"</h1>
                    <p class="mt-2 text-muted">"Every image is free to use, for anything."</p>
                </div>
                <nav aria-label="Order" class="flex gap-1 rounded-full border border-line bg-surface p-1 text-sm">
                    {tab(Sort::Newest, "/photos")}
                    {tab(Sort::Popular, "/photos?sort=popular")}
                </nav>
            </div>
            <div class="mt-8">
                <Transition fallback=|| view! { <GridSkeleton/> }>
                    {move || Suspend::new(async move {
                        match results.await {
                            Ok(result) if result.images.is_empty() => view! {
                                <EmptyState title="Nothing here" message="There are no images on this page.">
                                    <A href="/photos" attr:class="btn-secondary">"Back to the first page"</A>
                                </EmptyState>
                            }.into_any(),
                            Ok(result) => view! {
                                <GrowingGrid feed=Feed::Library(sort.get_untracked()) first=result endless=true eager=EAGER_TILES/>
                            }.into_any(),
                            Err(error) => view! { <ErrorNotice error retry_href="/photos"/> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </section>
    }
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
    let initials = super::profile_views::initials(&contributor.name);
    let count = match contributor.image_count {
        1 => "1 image".to_owned(),
        n => format!("{n} images"),
    };
    view! {
        <li id=contributor.slug.clone() class="relative overflow-hidden rounded-2xl border border-line bg-surface transition hover:border-accent">
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
                    <h2 class="font-display text-lg font-semibold text-ink">
                        <a href=format!("/contributors/{}", contributor.slug) class="after:absolute after:inset-0 hover:underline">{contributor.name.clone()}</a>
                    </h2>
                    <p class="text-sm text-accent">{contributor.style.clone()} " · " {count}</p>
                    <p class="mt-2 line-clamp-3 text-sm text-muted">{contributor.bio.clone()}</p>
                </div>
            </div>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::tile_sizes;

    #[test]
    fn tiles_ask_for_the_width_they_are_drawn_at() {
        assert_eq!(
            tile_sizes(1.5),
            "(min-width: 1280px) 507px, (min-width: 640px) 429px, 100vw"
        );
        assert_eq!(
            tile_sizes(0.8),
            "(min-width: 1280px) 270px, (min-width: 640px) 229px, 100vw"
        );
    }
}
