//! A grid that grows: the first page is server-rendered with real page links; once the app
//! has hydrated, later pages are fetched in place — by "Show more", or (infinite scroll)
//! as soon as the end of the grid comes within a screen of the viewport.

use super::{
    api::{browse_images, fetch_category, fetch_contributor, search_images},
    views::ImageGrid,
    ImagePage, SearchRequest, Sort,
};
use crate::error::AppError;
use leptos::{html::Div, prelude::*};

/// Where a growing grid's pages come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Feed {
    Library(Sort),
    Contributor(String),
    Category(String),
    Search(SearchRequest),
}

impl Feed {
    /// The address of one page of this feed (what links point at without JavaScript).
    pub fn href(&self, page: u32) -> String {
        match self {
            Feed::Library(Sort::Popular) => format!("/photos?sort=popular&page={page}"),
            Feed::Library(_) => format!("/photos?page={page}"),
            Feed::Contributor(slug) => format!("/contributors/{slug}?page={page}"),
            Feed::Category(slug) => format!("/categories/{slug}?page={page}"),
            Feed::Search(request) => request.href(page),
        }
    }

    async fn load(self, page: u32) -> Result<ImagePage, AppError> {
        match self {
            Feed::Library(sort) => browse_images(page, sort.as_str().to_owned()).await,
            Feed::Contributor(slug) => fetch_contributor(slug, page)
                .await?
                .map(|profile| profile.images)
                .ok_or(AppError::NotFound),
            Feed::Category(slug) => fetch_category(slug, page)
                .await?
                .map(|profile| profile.images)
                .ok_or(AppError::NotFound),
            Feed::Search(request) => Ok(search_images(SearchRequest { page, ..request }).await?.images),
        }
    }
}

/// How close (in pixels below the viewport) the end of the grid must come before the next
/// page loads by itself: about a screen, so scrolling rarely waits.
const PRELOAD_MARGIN: f64 = 900.0;

/// `first` and any pages loaded after it. With `endless`, pages load as the reader scrolls;
/// without, only when "Show more" is pressed. Either way "Show more" is a real link to the
/// next page, and a page after the first links back to the one before it.
#[component]
pub fn GrowingGrid(
    feed: Feed,
    first: ImagePage,
    #[prop(default = false)] endless: bool,
    #[prop(default = 0)] eager: usize,
) -> impl IntoView {
    let previous = (first.page > 1).then(|| feed.href(first.page - 1));
    let feed = StoredValue::new(feed);
    let images = RwSignal::new(first.images);
    let next_page = RwSignal::new(first.page + 1);
    let has_more = RwSignal::new(first.has_more);
    let loading = RwSignal::new(false);
    let failure = RwSignal::new(None::<AppError>);
    let end = NodeRef::<Div>::new();

    let load_more = move || {
        if loading.try_get_untracked().unwrap_or(true) || !has_more.get_untracked() {
            return;
        }
        loading.set(true);
        failure.set(None);
        let page = next_page.get_untracked();
        leptos::task::spawn_local(async move {
            match feed.get_value().load(page).await {
                Ok(loaded) => {
                    images.update(|list| list.extend(loaded.images));
                    next_page.set(loaded.page + 1);
                    has_more.set(loaded.has_more);
                }
                Err(error) => failure.set(Some(error)),
            }
            loading.set(false);
        });
    };

    // Loads the next page when the end of the grid is near the viewport. A failed load
    // waits for a click on "Show more" instead of retrying on every scroll event.
    // `try_` reads: a listener that outlives its page (see below) finds nothing and stops.
    let load_if_near_end = move || {
        if failure.try_get_untracked().is_none_or(|failed| failed.is_some()) {
            return;
        }
        let Some(end) = end.try_get_untracked().flatten() else {
            return;
        };
        let viewport = window().inner_height().ok().and_then(|h| h.as_f64()).unwrap_or(800.0);
        if end.get_bounding_client_rect().top() < viewport + PRELOAD_MARGIN {
            load_more();
        }
    };
    if endless {
        Effect::new(move |_| {
            let listener = StoredValue::new_local(Some(window_event_listener(leptos::ev::scroll, move |_| {
                load_if_near_end()
            })));
            on_cleanup(move || {
                if let Some(listener) = listener.try_update_value(Option::take).flatten() {
                    listener.remove();
                }
            });
        });
        // After every page (and once at the start): a short page may leave the end in view.
        Effect::new(move |_| {
            images.track();
            if !loading.get() {
                request_animation_frame(load_if_near_end);
            }
        });
    }

    let show_more = move |event: leptos::ev::MouseEvent| {
        event.prevent_default();
        load_more();
    };

    view! {
        <ImageGrid images eager/>
        <div node_ref=end class="mt-10 flex flex-col items-center gap-3">
            <p role="status" aria-live="polite" class="text-sm text-muted">
                {move || {
                    if loading.get() {
                        "Loading more images…".to_owned()
                    } else if !has_more.get() && next_page.get() > 2 {
                        "You've reached the end.".to_owned()
                    } else {
                        String::new()
                    }
                }}
            </p>
            <Show when=move || failure.get().is_some()>
                <p role="alert" class="text-sm text-danger">{move || failure.get().map(|e| e.to_string())}</p>
            </Show>
            <nav aria-label="Pages" class="flex items-center gap-3">
                {previous.map(|href| view! { <a href=href class="btn-secondary" rel="prev">"Previous page"</a> })}
                <Show when=move || has_more.get()>
                    <a
                        href=move || feed.with_value(|feed| feed.href(next_page.get()))
                        class="btn-secondary"
                        rel="next"
                        data-testid="show-more"
                        aria-busy=move || loading.get().to_string()
                        on:click=show_more
                    >
                        "Show more"
                    </a>
                </Show>
            </nav>
        </div>
    }
}
