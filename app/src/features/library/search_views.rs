//! `/search`: the words, a filter bar (orientation, colour, contributor, category, sort)
//! that works as a plain GET form, results with the matched words marked, and an empty
//! state that offers a way on.

use super::{
    api::search_images,
    feed::{Feed, GrowingGrid},
    views::EAGER_TILES,
    Choice, SearchRequest, SearchResults, Sort, COLOR_FAMILIES, ORIENTATIONS,
};
use crate::{
    error::AppError,
    ui::{
        meta::PageMeta,
        status::{EmptyState, ErrorNotice, GridSkeleton},
    },
};
use leptos::prelude::*;
use leptos_router::{
    components::{Form, A},
    hooks::use_query_map,
};

/// The search as the address bar says it; a missing or bad page number means page 1.
fn search_request() -> Memo<SearchRequest> {
    let params = use_query_map();
    Memo::new(move |_| {
        let params = params.read();
        let text = |name: &str| params.get(name).unwrap_or_default().trim().to_owned();
        SearchRequest {
            q: text("q"),
            orientation: text("orientation"),
            contributor: text("contributor"),
            category: text("category"),
            color: text("color"),
            sort: text("sort"),
            page: params
                .get("page")
                .and_then(|p| p.parse::<u32>().ok())
                .filter(|p| *p >= 1)
                .unwrap_or(1),
        }
    })
}

#[component]
pub fn SearchPage() -> impl IntoView {
    let request = search_request();
    let results = Resource::new(move || request.get(), search_images);
    let title = Signal::derive(move || {
        let request = request.get();
        match (request.q.is_empty(), request.page) {
            (true, _) => "Search".to_owned(),
            (false, 1) => format!("“{}” images", request.q),
            (false, page) => format!("“{}” images, page {page}", request.q),
        }
    });
    view! {
        <PageMeta title description="Search the library of free AI-made images by words, colour, orientation, contributor and category."/>
        <section class="mx-auto max-w-7xl px-4 pt-10 sm:px-6">
            <h1 class="font-display text-3xl font-semibold tracking-tight text-ink">
                {move || {
                    let q = request.get().q;
                    if q.is_empty() { "Search the library".to_owned() } else { format!("Results for “{q}”") }
                }}
            </h1>
            <Transition fallback=|| view! { <div class="mt-8"><GridSkeleton/></div> }>
                {move || Suspend::new(async move {
                    let asked = request.get_untracked();
                    match results.await {
                        Ok(found) => view! { <SearchResultsView asked found/> }.into_any(),
                        Err(error) => view! { <SearchRefused asked error/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// A request the server refused (a filter value that is not on offer): say which, and
/// offer the same words without filters.
#[component]
fn SearchRefused(asked: SearchRequest, error: AppError) -> impl IntoView {
    let words_only = SearchRequest {
        q: asked.q.clone(),
        page: 1,
        ..SearchRequest::default()
    }
    .href(1);
    view! {
        <ErrorNotice error/>
        <p class="text-center"><a href=words_only class="btn-secondary">"Search without filters"</a></p>
    }
}

#[component]
fn SearchResultsView(asked: SearchRequest, found: SearchResults) -> impl IntoView {
    let SearchResults {
        images,
        corrected,
        contributors,
        categories,
    } = found;
    let suggestions = categories.clone();
    let body = if images.images.is_empty() {
        view! { <NoResults asked=asked.clone() categories=suggestions/> }.into_any()
    } else {
        let feed = Feed::Search(asked.clone());
        view! {
            {corrected.map(|better| view! {
                <p class="mb-6 rounded-xl border border-line bg-surface px-4 py-3 text-sm text-ink" data-testid="corrected">
                    "Nothing matched “" {asked.q.clone()} "”, so these are results for “"
                    <strong>{better}</strong> "”."
                </p>
            })}
            <GrowingGrid feed first=images endless=true eager=EAGER_TILES/>
        }
        .into_any()
    };
    view! {
        <FilterBar asked contributors categories/>
        <div class="mt-8">{body}</div>
    }
}

/// The filter form: a GET form, so it works before the app hydrates and every search has
/// an address; after hydration the router submits it without a page load.
#[component]
fn FilterBar(asked: SearchRequest, contributors: Vec<Choice>, categories: Vec<Choice>) -> impl IntoView {
    let has_words = !asked.q.is_empty();
    let clear_href = SearchRequest {
        q: asked.q.clone(),
        ..SearchRequest::default()
    }
    .href(1);
    let has_filters = asked.has_filters();
    let sort_choices: Vec<Sort> = if has_words {
        vec![Sort::Relevance, Sort::Newest, Sort::Popular]
    } else {
        vec![Sort::Newest, Sort::Popular]
    };
    let orientations: Vec<(String, String)> = ORIENTATIONS
        .iter()
        .map(|(value, label)| ((*value).to_owned(), (*label).to_owned()))
        .collect();
    let contributors: Vec<(String, String)> = contributors.into_iter().map(|c| (c.slug, c.name)).collect();
    let categories: Vec<(String, String)> = categories.into_iter().map(|c| (c.slug, c.name)).collect();
    view! {
        <Form method="GET" action="/search" attr:class="mt-6 rounded-2xl border border-line bg-surface p-4" attr:data-testid="search-filters">
            <div class="flex flex-col gap-3 sm:flex-row">
                <label for="search-words" class="sr-only">"Words"</label>
                <input
                    id="search-words"
                    name="q"
                    type="search"
                    maxlength="100"
                    value=asked.q.clone()
                    placeholder="Words, such as “aurora” or “quiet dunes”"
                    class="h-10 flex-1 rounded-lg border border-line bg-canvas px-3 text-sm text-ink placeholder:text-muted focus:border-accent"
                />
                <button type="submit" class="btn-primary">"Search"</button>
            </div>
            <div class="mt-4 flex flex-wrap items-end gap-4">
                <FilterSelect
                    label="Orientation"
                    name="orientation"
                    any="Any"
                    choices=orientations
                    current=asked.orientation.clone()
                />
                <FilterSelect
                    label="Contributor"
                    name="contributor"
                    any="Anyone"
                    choices=contributors
                    current=asked.contributor.clone()
                />
                <FilterSelect
                    label="Category"
                    name="category"
                    any="All"
                    choices=categories
                    current=asked.category.clone()
                />
                <label class="flex flex-col gap-1 text-xs font-medium text-muted">
                    "Sort"
                    <select name="sort" class=SELECT_CLASS>
                        {sort_choices
                            .into_iter()
                            .map(|sort| {
                                let selected = asked.sort == sort.as_str() || (asked.sort.is_empty() && sort == if has_words { Sort::Relevance } else { Sort::Newest });
                                view! { <option value=sort.as_str() selected=selected>{sort.label()}</option> }
                            })
                            .collect_view()}
                    </select>
                </label>
                <fieldset class="flex flex-col gap-1">
                    <legend class="text-xs font-medium text-muted">"Colour"</legend>
                    <div class="flex flex-wrap items-center gap-1.5 pt-1">
                        <label class="mr-1 inline-flex items-center gap-1.5 text-sm text-ink">
                            <input type="radio" name="color" value="" checked=asked.color.is_empty() class="accent-accent"/>
                            "Any"
                        </label>
                        {COLOR_FAMILIES
                            .iter()
                            .map(|(value, label, swatch)| view! {
                                <input
                                    type="radio"
                                    name="color"
                                    value=*value
                                    checked=asked.color == *value
                                    aria-label=*label
                                    title=*label
                                    class="swatch"
                                    style=format!("--swatch:{swatch}")
                                />
                            })
                            .collect_view()}
                    </div>
                </fieldset>
                <div class="ml-auto flex gap-2">
                    {has_filters.then(|| view! { <a href=clear_href.clone() class="btn-secondary">"Clear filters"</a> })}
                    <button type="submit" class="btn-secondary">"Apply filters"</button>
                </div>
            </div>
        </Form>
    }
}

/// Nothing matched: say so plainly and offer ways on — fewer filters, a category, or the
/// whole library.
#[component]
fn NoResults(asked: SearchRequest, categories: Vec<Choice>) -> impl IntoView {
    let message = match (asked.q.is_empty(), asked.has_filters()) {
        (false, true) => format!(
            "No image matches “{}” with these filters. Try removing a filter or a word.",
            asked.q
        ),
        (false, false) => format!(
            "No image matches “{}”. Try a broader word, such as a colour or a mood.",
            asked.q
        ),
        (true, _) => "No image matches these filters. Try removing one.".to_owned(),
    };
    let without_filters = asked.has_filters().then(|| {
        SearchRequest {
            q: asked.q.clone(),
            ..SearchRequest::default()
        }
        .href(1)
    });
    view! {
        <EmptyState title="No images match" message>
            <div class="flex flex-col items-center gap-5">
                <div class="flex flex-wrap justify-center gap-3">
                    {without_filters.map(|href| view! { <a href=href class="btn-primary">"Search without filters"</a> })}
                    <A href="/photos" attr:class="btn-secondary">"Browse the whole library"</A>
                </div>
                {(!categories.is_empty()).then(|| view! {
                    <div>
                        <p class="text-sm text-muted">"Or look through a category:"</p>
                        <ul class="mt-3 flex flex-wrap justify-center gap-2" data-testid="suggestions">
                            {categories
                                .into_iter()
                                .map(|c| view! {
                                    <li><a href=format!("/categories/{}", c.slug) class="chip">{c.name}</a></li>
                                })
                                .collect_view()}
                        </ul>
                    </div>
                })}
            </div>
        </EmptyState>
    }
}

const SELECT_CLASS: &str = "h-10 rounded-lg border border-line bg-surface px-3 text-sm text-ink focus:border-accent";

/// One labelled filter `<select>`: "any" (the empty value) first, then the choices as
/// `(value, label)`, with `current` selected.
#[component]
fn FilterSelect(
    label: &'static str,
    name: &'static str,
    any: &'static str,
    choices: Vec<(String, String)>,
    current: String,
) -> impl IntoView {
    let options = choices
        .into_iter()
        .map(|(value, text)| {
            let selected = current == value;
            view! { <option value=value selected=selected>{text}</option> }
        })
        .collect_view();
    view! {
        <label class="flex flex-col gap-1 text-xs font-medium text-muted">
            {label}
            <select name=name class=SELECT_CLASS>
                <option value="" selected=current.is_empty()>{any}</option>
                {options}
            </select>
        </label>
    }
}
