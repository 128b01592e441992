//! `/collections` (the member's own, with "new collection" and undo after a delete) and
//! `/collections/{slug}` (one collection: its images in the member's order or another, a
//! filter, and for the owner: edit, delete, drag or keyboard reordering, and bulk moves).

use super::{
    api::{
        bulk_collection_items, collection_page, move_collection_item, my_collections, set_collection_cover,
        CreateCollection, DeleteCollection, RemoveFromCollection, RestoreCollection, UpdateCollection,
    },
    collection_href,
    export_views::{ExportForm, ExportList, ExportTracker},
    CollectionSummary, CollectionView, ItemSort, ItemsRequest, ITEMS_PAGE_SIZE, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS,
};
use crate::{
    dates::format_day,
    features::library::{
        views::{tile_style, TilePicture},
        ImageCard, ORIENTATIONS,
    },
    ui::{
        form::{action_error, Field, FormAlert, SubmitButton},
        meta::PageMeta,
        status::{EmptyState, ErrorNotice, MembersOnly, NotFound},
    },
};
use leptos::{form::ActionForm, prelude::*};
use leptos_router::{
    components::Form,
    hooks::{use_navigate, use_params_map, use_query_map},
};
use std::collections::HashSet;

#[component]
pub fn CollectionsPage() -> impl IntoView {
    let create = ServerAction::<CreateCollection>::new();
    let restore = ServerAction::<RestoreCollection>::new();
    let query = use_query_map();
    let deleted = Memo::new(move |_| {
        query
            .read()
            .get("deleted")
            .filter(|slug| !slug.is_empty() && slug.len() <= 120)
    });
    let list = Resource::new(
        move || (create.version().get(), restore.version().get()),
        |_| my_collections(),
    );
    let navigate = use_navigate();
    Effect::new(move |_| {
        let made = match (create.value().get(), restore.value().get()) {
            (Some(Ok(slug)), _) => Some(slug),
            (_, Some(Ok(()))) => deleted.get_untracked(),
            _ => None,
        };
        if let Some(slug) = made {
            navigate(&collection_href(&slug), Default::default());
        }
    });
    let restore_error = action_error(restore);
    view! {
        <PageMeta title="Your collections" description="The images you saved, in collections of your own."/>
        <section class="mx-auto max-w-7xl px-4 py-12 sm:px-6">
            <h1 class="font-display text-3xl font-semibold tracking-tight text-ink">"Your collections"</h1>
            <p class="mt-2 text-muted">"Gather images you like. Collections are private unless you share them."</p>
            {move || deleted.get().map(|slug| view! {
                <div class="form-notice mt-6 flex flex-wrap items-center justify-between gap-3" role="status" data-testid="deleted-notice">
                    <span>"The collection was deleted. You can bring it back for a few minutes."</span>
                    <ActionForm action=restore>
                        <input type="hidden" name="slug" value=slug/>
                        <button type="submit" class="btn-secondary h-9 px-4" data-testid="undo-delete">"Undo"</button>
                    </ActionForm>
                </div>
                <FormAlert error=restore_error/>
            })}
            <MembersOnly data=list loading="Loading your collections…" sign_in="Sign in to see your collections" path="/collections"
                loaded=move |list| view! {
                    <div class="mt-8 grid gap-10 lg:grid-cols-[1fr_20rem]">
                        <CollectionGrid list/>
                        <NewCollectionForm create/>
                    </div>
                }/>
        </section>
    }
}

#[component]
fn NewCollectionForm(create: ServerAction<CreateCollection>) -> impl IntoView {
    let error = action_error(create);
    view! {
        <ActionForm action=create attr:class="card space-y-4 self-start" attr:data-testid="new-collection">
            <h2 class="font-semibold text-ink">"New collection"</h2>
            <FormAlert error/>
            <Field label="Name" name="name" maxlength={MAX_NAME_CHARS as u32} required=true error/>
            <div>
                <label for="field-description" class="field-label">"Description (optional)"</label>
                <textarea id="field-description" name="description" rows="3" maxlength={MAX_DESCRIPTION_CHARS.to_string()} class="field-input"></textarea>
            </div>
            <VisibilityChoice public=false/>
            <SubmitButton label="Create collection" busy_label="Creating…" pending=create.pending()/>
        </ActionForm>
    }
}

/// Private or public, as two radio buttons (private first: it is the default).
#[component]
fn VisibilityChoice(public: bool) -> impl IntoView {
    view! {
        <fieldset>
            <legend class="field-label">"Who can see it"</legend>
            <label class="mt-2 flex items-start gap-2 text-sm text-ink">
                <input type="radio" name="visibility" value="private" checked=!public class="mt-1 accent-[var(--accent)]"/>
                <span>"Only me"</span>
            </label>
            <label class="mt-1 flex items-start gap-2 text-sm text-ink">
                <input type="radio" name="visibility" value="public" checked=public class="mt-1 accent-[var(--accent)]"/>
                <span>"Anyone with the link"</span>
            </label>
        </fieldset>
    }
}

#[component]
fn CollectionGrid(list: Vec<CollectionSummary>) -> impl IntoView {
    if list.is_empty() {
        return view! {
            <EmptyState title="No collections yet" message="Make one here, or press Save on any image in the library.">
                <a href="/photos" class="btn-secondary">"Browse the library"</a>
            </EmptyState>
        }
        .into_any();
    }
    view! {
        <ul class="grid gap-6 sm:grid-cols-2 xl:grid-cols-3" data-testid="collection-list">
            {list.into_iter().map(|collection| view! { <CollectionCard collection/> }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn CollectionCard(collection: CollectionSummary) -> impl IntoView {
    let href = collection_href(&collection.slug);
    let cover = collection.cover.clone();
    view! {
        <li data-collection=collection.slug.clone()>
            <a href=href class="group block rounded-2xl border border-line bg-surface transition hover:border-accent">
                <div class="aspect-[4/3] overflow-hidden rounded-t-2xl bg-sunken">
                    {cover.map(|image| view! {
                        <img src=image.small_url alt="" loading="lazy" decoding="async" class="size-full object-cover"
                            style=format!("background-color:{}", image.dominant_color)/>
                    })}
                </div>
                <div class="p-4">
                    <p class="truncate font-semibold text-ink">{collection.name.clone()}</p>
                    <p class="mt-1 text-sm text-muted">
                        {match collection.item_count { 1 => "1 image".to_owned(), n => format!("{n} images") }}
                        " · "
                        {if collection.is_public { "Public" } else { "Private" }}
                    </p>
                </div>
            </a>
        </li>
    }
}

/// The collection page's request as the address says it.
fn items_request() -> Memo<ItemsRequest> {
    let params = use_params_map();
    let query = use_query_map();
    Memo::new(move |_| {
        let query = query.read();
        let text = |name: &str| query.get(name).unwrap_or_default().trim().to_owned();
        ItemsRequest {
            slug: params.read().get("slug").unwrap_or_default(),
            sort: text("sort"),
            q: text("q"),
            orientation: text("orientation"),
            page: query
                .get("page")
                .and_then(|page| page.parse::<u32>().ok())
                .filter(|page| *page >= 1)
                .unwrap_or(1),
        }
    })
}

impl ItemsRequest {
    /// This collection's address with this order and filter, at `page`.
    pub fn href(&self, page: u32) -> String {
        let mut pairs = Vec::new();
        for (name, value) in [("q", &self.q), ("orientation", &self.orientation), ("sort", &self.sort)] {
            if !value.is_empty() {
                pairs.push(format!(
                    "{name}={}",
                    crate::features::library::encode_query_value(value)
                ));
            }
        }
        if page > 1 {
            pairs.push(format!("page={page}"));
        }
        let base = collection_href(&self.slug);
        if pairs.is_empty() {
            base
        } else {
            format!("{base}?{}", pairs.join("&"))
        }
    }

    fn is_filtered(&self) -> bool {
        !self.q.is_empty() || !self.orientation.is_empty()
    }
}

#[component]
pub fn CollectionPage() -> impl IntoView {
    let request = items_request();
    // Bumped after a change the page cannot show by itself (a bulk move, a new cover).
    let changes = RwSignal::new(0_u32);
    let data = Resource::new(
        move || (request.get(), changes.get()),
        |(request, _)| collection_page(request),
    );
    view! {
        <Transition fallback=|| view! { <div class="mx-auto m-6 h-64 max-w-7xl animate-pulse rounded-2xl bg-line/40"></div> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(view)) => view! { <CollectionBody view asked=request.get_untracked() changes/> }.into_any(),
                    Ok(None) => view! { <NotFound/> }.into_any(),
                    Err(error) => view! { <div class="mx-auto max-w-3xl px-4 py-16"><ErrorNotice error retry_href="/collections"/></div> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn CollectionBody(view: CollectionView, asked: ItemsRequest, changes: RwSignal<u32>) -> impl IntoView {
    let CollectionView {
        collection,
        owner_name,
        is_owner,
        items,
        page,
        has_more,
        matching,
    } = view;
    let description = if collection.description.is_empty() {
        format!(
            "A collection of {} free AI-made images by {owner_name}.",
            collection.item_count
        )
    } else {
        collection.description.clone()
    };
    let count_line = match collection.item_count {
        1 => "1 image".to_owned(),
        n => format!("{n} images"),
    };
    let empty_collection = collection.item_count == 0;
    let filtered = asked.is_filtered();
    let body = if items.is_empty() {
        if empty_collection {
            view! {
                <EmptyState title="Nothing here yet" message={if is_owner { "Press Save on any image in the library to put it here." } else { "This collection has no images yet." }}>
                    <a href="/photos" class="btn-secondary">"Browse the library"</a>
                </EmptyState>
            }
            .into_any()
        } else {
            let clear = ItemsRequest {
                slug: asked.slug.clone(),
                sort: asked.sort.clone(),
                ..ItemsRequest::default()
            }
            .href(1);
            view! {
                <EmptyState title="No images match" message="Nothing in this collection matches that filter.">
                    <a href=clear class="btn-secondary">"Show every image"</a>
                </EmptyState>
            }
            .into_any()
        }
    } else if is_owner {
        view! { <OwnedItems items asked=asked.clone() page changes/> }.into_any()
    } else {
        view! { <ViewerItems items/> }.into_any()
    };
    // Made here, not inside a panel, so the list keeps its place when a disclosure closes.
    let exports = is_owner.then(|| ExportTracker::new(collection.slug.clone()));
    let pager = (page > 1 || has_more).then(|| {
        let (previous, next) = (asked.href(page.saturating_sub(1)), asked.href(page + 1));
        view! {
            <nav class="mt-10 flex items-center justify-center gap-3" aria-label="Pages">
                {(page > 1).then(|| view! { <a href=previous rel="prev" class="btn-secondary">"Previous page"</a> })}
                <span class="text-sm text-muted">{format!("Page {page}")}</span>
                {has_more.then(|| view! { <a href=next rel="next" class="btn-secondary">"Next page"</a> })}
            </nav>
        }
    });
    view! {
        <PageMeta title=collection.name.clone() description/>
        <section class="mx-auto max-w-7xl px-4 py-10 sm:px-6" data-testid="collection-page">
            <div class="flex flex-wrap items-start justify-between gap-6">
                <div class="min-w-0 max-w-3xl">
                    <p class="text-sm font-semibold uppercase tracking-widest text-accent">
                        {if collection.is_public { "Public collection" } else { "Private collection" }}
                    </p>
                    <h1 class="mt-2 text-balance font-display text-3xl font-semibold tracking-tight text-ink sm:text-4xl" data-testid="collection-name">
                        {collection.name.clone()}
                    </h1>
                    {(!collection.description.is_empty()).then(|| view! {
                        <p class="mt-3 whitespace-pre-line text-muted">{collection.description.clone()}</p>
                    })}
                    <p class="mt-3 text-sm text-muted">
                        <span data-testid="collection-count">{count_line}</span>
                        {format!(" · by {owner_name} · updated {}", format_day(collection.updated_at))}
                    </p>
                </div>
                {exports.map(|exports| view! { <OwnerTools collection=collection.clone() changes exports/> })}
            </div>
            {exports.map(|tracker| view! { <ExportList slug=collection.slug.clone() tracker/> })}
            {(!empty_collection).then(|| view! { <ItemFilter asked=asked.clone()/> })}
            {(filtered && matching > 0).then(|| view! {
                <p class="mt-4 text-sm text-muted">{format!("{matching} of {} images match.", collection.item_count)}</p>
            })}
            <div class="mt-8">{body}</div>
            {pager}
        </section>
    }
}

/// Sort and filter as a plain GET form: it works before hydration and every view of the
/// collection has an address.
#[component]
fn ItemFilter(asked: ItemsRequest) -> impl IntoView {
    let action = collection_href(&asked.slug);
    let current_sort = ItemSort::parse(&asked.sort).unwrap_or_default();
    view! {
        <Form method="GET" action=action attr:class="mt-8 flex flex-wrap items-end gap-3 rounded-2xl border border-line bg-surface p-4" attr:data-testid="collection-filter">
            <label class="flex flex-1 flex-col gap-1 text-xs font-medium text-muted">
                "Title contains"
                <input name="q" type="search" maxlength="100" value=asked.q.clone() class="h-10 min-w-40 rounded-lg border border-line bg-canvas px-3 text-sm text-ink"/>
            </label>
            <label class="flex flex-col gap-1 text-xs font-medium text-muted">
                "Orientation"
                <select name="orientation" class="h-10 rounded-lg border border-line bg-canvas px-2 text-sm text-ink">
                    <option value="" selected=asked.orientation.is_empty()>"Any"</option>
                    {ORIENTATIONS.iter().map(|(value, label)| view! {
                        <option value=*value selected=asked.orientation == *value>{*label}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="flex flex-col gap-1 text-xs font-medium text-muted">
                "Order"
                <select name="sort" class="h-10 rounded-lg border border-line bg-canvas px-2 text-sm text-ink" data-testid="collection-sort">
                    {ItemSort::ALL.into_iter().map(|sort| view! {
                        <option value=sort.as_str() selected=sort == current_sort>{sort.label()}</option>
                    }).collect_view()}
                </select>
            </label>
            <button type="submit" class="btn-secondary h-10">"Apply"</button>
        </Form>
    }
}

/// The owner's edit and delete panels (disclosures, so they work without JavaScript).
#[component]
fn OwnerTools(collection: CollectionSummary, changes: RwSignal<u32>, exports: ExportTracker) -> impl IntoView {
    let update = ServerAction::<UpdateCollection>::new();
    let delete = ServerAction::<DeleteCollection>::new();
    let update_error = action_error(update);
    let delete_error = action_error(delete);
    let navigate = use_navigate();
    let slug = collection.slug.clone();
    {
        let slug = slug.clone();
        Effect::new(move |_| {
            if let Some(Ok(())) = delete.value().get() {
                navigate(&format!("/collections?deleted={slug}"), Default::default());
            }
        });
    }
    // A saved edit shows at once: the page loads its data again.
    Effect::new(move |_| {
        if let Some(Ok(())) = update.value().get() {
            changes.update(|n| *n += 1);
        }
    });
    let share_url = collection_href(&collection.slug);
    let (edit_slug, delete_slug, export_slug) = (slug.clone(), slug.clone(), slug);
    view! {
        <div class="flex flex-wrap items-start gap-2">
            {collection.is_public.then(|| view! { <CopyLinkButton path=share_url.clone()/> })}
            <details class="relative" data-testid="edit-collection">
                <summary class="btn-secondary h-10 cursor-pointer list-none px-4">"Edit"</summary>
                <ActionForm action=update attr:class="card absolute right-0 z-20 mt-2 w-80 space-y-4 shadow-xl">
                    <input type="hidden" name="slug" value=edit_slug/>
                    <FormAlert error=update_error/>
                    <Field label="Name" name="name" value=collection.name.clone() maxlength={MAX_NAME_CHARS as u32} required=true error=update_error/>
                    <div>
                        <label for="edit-description" class="field-label">"Description"</label>
                        <textarea id="edit-description" name="description" rows="3" maxlength={MAX_DESCRIPTION_CHARS.to_string()} class="field-input">
                            {collection.description.clone()}
                        </textarea>
                    </div>
                    <VisibilityChoice public=collection.is_public/>
                    <SubmitButton label="Save changes" busy_label="Saving…" pending=update.pending()/>
                </ActionForm>
            </details>
            <ExportForm slug=export_slug tracker=exports/>
            <details class="relative" data-testid="delete-collection">
                <summary class="btn-secondary h-10 cursor-pointer list-none px-4">"Delete"</summary>
                <ActionForm action=delete attr:class="card absolute right-0 z-20 mt-2 w-72 space-y-3 shadow-xl">
                    <input type="hidden" name="slug" value=delete_slug/>
                    <p class="text-sm text-ink">"Delete this collection? The images stay in the library. You can undo this for a few minutes."</p>
                    <FormAlert error=delete_error/>
                    <button type="submit" class="btn-danger w-full" data-testid="confirm-delete">"Delete collection"</button>
                </ActionForm>
            </details>
        </div>
    }
}

/// Copies the collection's full address; the link itself works without JavaScript.
#[component]
fn CopyLinkButton(path: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let href = path.clone();
    view! {
        <a href=href class="btn-secondary h-10 px-4" data-testid="share-link"
            on:click=move |event| {
                event.prevent_default();
                let location = window().location();
                let url = format!("{}{}", location.origin().unwrap_or_default(), path);
                let _ = window().navigator().clipboard().write_text(&url);
                copied.set(true);
            }>
            {move || if copied.get() { "Link copied" } else { "Copy link" }}
        </a>
    }
}

/// A visitor's view: the images, each a link to its page.
#[component]
fn ViewerItems(items: Vec<ImageCard>) -> impl IntoView {
    view! {
        <ul class="image-grid" data-testid="collection-items">
            {items.into_iter().map(|image| {
                let (style, id) = (tile_style(&image), image.public_id.clone());
                view! { <li class="image-tile" style=style data-image-id=id><TilePicture image eager=false/></li> }
            }).collect_view()}
            <li class="image-grid-filler" aria-hidden="true"></li>
        </ul>
    }
}

/// The owner's view: tiles to pick for bulk actions, to remove, and — in the member's own
/// order without a filter — to drag, or to move with the arrow keys on a tile's handle.
/// Every change shows at once and is put back, with the server's reason, when refused.
#[component]
fn OwnedItems(items: Vec<ImageCard>, asked: ItemsRequest, page: u32, changes: RwSignal<u32>) -> impl IntoView {
    let slug = asked.slug.clone();
    let reorderable = ItemSort::parse(&asked.sort) == Some(ItemSort::Custom) && !asked.is_filtered();
    let first_index = (page - 1) * ITEMS_PAGE_SIZE;
    let items = RwSignal::new(items);
    let selected = RwSignal::new(HashSet::<String>::new());
    let message = RwSignal::new(None::<String>);
    let announcement = RwSignal::new(String::new());
    let dragging = RwSignal::new(None::<String>);
    let drop_target = RwSignal::new(None::<String>);

    // Moves `public_id` to `to` on this page, then tells the server; undone if refused.
    let move_to = {
        let slug = slug.clone();
        move |public_id: String, to: usize| {
            let before = items.get_untracked();
            let Some(from) = before.iter().position(|image| image.public_id == public_id) else {
                return;
            };
            let to = to.min(before.len() - 1);
            if from == to {
                return;
            }
            let mut after = before.clone();
            let moved = after.remove(from);
            let title = moved.title.clone();
            after.insert(to, moved);
            items.set(after);
            announcement.set(format!("Moved “{title}” to position {} of {}.", to + 1, before.len()));
            message.set(None);
            let slug = slug.clone();
            leptos::task::spawn_local(async move {
                if let Err(error) = move_collection_item(slug, public_id, first_index + to as u32).await {
                    items.set(before);
                    message.set(Some(format!("The new order was not saved: {error}")));
                }
            });
        }
    };

    let grid = OwnedGrid {
        items,
        selected,
        message,
        changes,
        dragging,
        drop_target,
        on_move: Callback::new(move |(id, to): (String, usize)| move_to(id, to)),
    };
    let bulk_bar = {
        let slug = slug.clone();
        view! { <BulkBar slug items selected message changes/> }
    };
    view! {
        <p role="alert" class="form-alert mb-4" class:hidden=move || message.get().is_none() data-testid="collection-message">{move || message.get()}</p>
        <p class="sr-only" aria-live="polite" data-testid="reorder-status">{move || announcement.get()}</p>
        {reorderable.then(|| view! {
            <p id="reorder-help" class="mb-4 text-sm text-muted">
                "Drag images to change their order, or focus an image's ⠿ handle and use the arrow keys (Home and End for first and last)."
            </p>
        })}
        {bulk_bar}
        <ul class="image-grid" data-testid="collection-items">
            <For
                each=move || items.get()
                key=|image| image.public_id.clone()
                children=move |image| view! { <OwnedTile image slug=slug.clone() reorderable grid/> }
            />
            <li class="image-grid-filler" aria-hidden="true"></li>
        </ul>
    }
}

/// What the owner's tiles share with the page around them.
#[derive(Clone, Copy)]
struct OwnedGrid {
    /// The page's images, in the order shown.
    items: RwSignal<Vec<ImageCard>>,
    /// Picked for a bulk action.
    selected: RwSignal<HashSet<String>>,
    /// Why the server refused the last change.
    message: RwSignal<Option<String>>,
    /// Bumped to load the page again.
    changes: RwSignal<u32>,
    /// The tile being dragged, and the one it is over.
    dragging: RwSignal<Option<String>>,
    drop_target: RwSignal<Option<String>>,
    /// Moves an image (this one, or one dropped on it) to a place on the page.
    on_move: Callback<(String, usize)>,
}

#[component]
fn OwnedTile(image: ImageCard, slug: String, reorderable: bool, grid: OwnedGrid) -> impl IntoView {
    let OwnedGrid {
        items,
        selected,
        message,
        changes,
        dragging,
        drop_target,
        on_move,
    } = grid;
    let id = image.public_id.clone();
    let remove = ServerAction::<RemoveFromCollection>::new();
    // Gone from the page as soon as it is asked for; back with a message if refused.
    let removed = Memo::new(move |_| remove.pending().get() || matches!(remove.value().get(), Some(Ok(_))));
    Effect::new(move |_| {
        if let Some(Err(error)) = remove.value().get() {
            message.set(Some(format!("The image was not removed: {error}")));
        }
    });
    let index_of = {
        let id = id.clone();
        move || items.with_untracked(|list| list.iter().position(|image| image.public_id == id).unwrap_or(0))
    };
    let is_selected = {
        let id = id.clone();
        move || selected.with(|set| set.contains(&id))
    };
    let toggle = {
        let id = id.clone();
        move |_| {
            selected.update(|set| {
                if !set.remove(&id) {
                    set.insert(id.clone());
                }
            })
        }
    };
    let on_key = {
        let id = id.clone();
        move |event: web_sys::KeyboardEvent| {
            let here = index_of();
            let last = items.with_untracked(Vec::len).saturating_sub(1);
            let to = match event.key().as_str() {
                "ArrowLeft" | "ArrowUp" => here.saturating_sub(1),
                "ArrowRight" | "ArrowDown" => (here + 1).min(last),
                "Home" => 0,
                "End" => last,
                _ => return,
            };
            event.prevent_default();
            on_move.run((id.clone(), to));
            // Moving a node in the DOM takes focus from it; give it back once drawn.
            let selector = format!("[data-move-handle=\"{id}\"]");
            request_animation_frame(move || {
                if let Ok(Some(handle)) = document().query_selector(&selector) {
                    use web_sys::wasm_bindgen::JsCast;
                    if let Ok(handle) = handle.dyn_into::<web_sys::HtmlElement>() {
                        let _ = handle.focus();
                    }
                }
            });
        }
    };
    let drag_id = id.clone();
    let over_id = id.clone();
    let target_id = id.clone();
    let cover = {
        let (slug, id) = (slug.clone(), id.clone());
        move |_| {
            let (slug, id) = (slug.clone(), id.clone());
            leptos::task::spawn_local(async move {
                match set_collection_cover(slug, id).await {
                    Ok(()) => changes.update(|n| *n += 1),
                    Err(error) => message.set(Some(format!("The cover was not changed: {error}"))),
                }
            });
        }
    };
    let title = image.title.clone();
    let checkbox_label = format!("Select “{title}”");
    let handle_label = format!("Move “{title}”");
    let remove_label = format!("Remove “{title}” from this collection");
    let next = collection_href(&slug);
    let is_dragged = {
        let id = id.clone();
        move || dragging.get().as_deref() == Some(id.as_str())
    };
    let is_drop_target = {
        let id = id.clone();
        move || drop_target.get().as_deref() == Some(id.as_str())
    };
    let (tile_id, handle_id, form_id) = (id.clone(), id.clone(), id);
    let style = tile_style(&image);
    view! {
        <li
            class="image-tile"
            class:hidden=move || removed.get()
            class:tile-dragging=is_dragged
            class:tile-drop-target=is_drop_target
            style=style
            data-image-id=tile_id
            draggable={if reorderable { "true" } else { "false" }}
            on:dragstart=move |event: web_sys::DragEvent| {
                if let Some(data) = event.data_transfer() {
                    let _ = data.set_data("text/plain", &drag_id);
                    data.set_effect_allowed("move");
                }
                dragging.set(Some(drag_id.clone()));
            }
            on:dragover=move |event: web_sys::DragEvent| {
                if dragging.get_untracked().is_some() {
                    event.prevent_default();
                    drop_target.set(Some(over_id.clone()));
                }
            }
            on:dragend=move |_| {
                dragging.set(None);
                drop_target.set(None);
            }
            on:drop=move |event: web_sys::DragEvent| {
                event.prevent_default();
                let moved = dragging.get_untracked();
                dragging.set(None);
                drop_target.set(None);
                if let Some(moved) = moved.filter(|moved| *moved != target_id) {
                    let to = items.with_untracked(|list| list.iter().position(|image| image.public_id == target_id));
                    if let Some(to) = to {
                        on_move.run((moved, to));
                    }
                }
            }
        >
            <TilePicture image=image.clone() eager=false in_draggable_tile=true/>
            <input type="checkbox" class="tile-check" aria-label=checkbox_label prop:checked=is_selected on:change=toggle data-testid="tile-select"/>
            <div class="absolute right-2 top-2 flex gap-1">
                {reorderable.then(|| view! {
                    <button type="button" class="tile-tool cursor-grab" aria-label=handle_label aria-describedby="reorder-help"
                        data-move-handle=handle_id.clone() on:keydown=on_key data-testid="move-handle">"⠿"</button>
                })}
                <button type="button" class="tile-tool" on:click=cover title="Use as cover" aria-label=format!("Use “{title}” as the cover")>"★"</button>
                <ActionForm action=remove>
                    <input type="hidden" name="slug" value=slug.clone()/>
                    <input type="hidden" name="public_id" value=form_id/>
                    <input type="hidden" name="next" value=next/>
                    <button type="submit" class="tile-tool" aria-label=remove_label data-testid="tile-remove">"✕"</button>
                </ActionForm>
            </div>
        </li>
    }
}

/// Shown while images are picked: move or copy them to another collection, or remove them.
#[component]
fn BulkBar(
    slug: String,
    items: RwSignal<Vec<ImageCard>>,
    selected: RwSignal<HashSet<String>>,
    message: RwSignal<Option<String>>,
    changes: RwSignal<u32>,
) -> impl IntoView {
    // The member's other collections, asked for once the first image is picked.
    let others = RwSignal::new(None::<Vec<(String, String)>>);
    {
        let slug = slug.clone();
        Effect::new(move |_| {
            if selected.with(HashSet::is_empty) || others.with_untracked(Option::is_some) {
                return;
            }
            others.set(Some(Vec::new()));
            let slug = slug.clone();
            leptos::task::spawn_local(async move {
                match my_collections().await {
                    Ok(list) => others.set(Some(
                        list.into_iter()
                            .filter(|other| other.slug != slug)
                            .map(|other| (other.slug, other.name))
                            .collect(),
                    )),
                    Err(error) => message.set(Some(format!("Your collections did not load: {error}"))),
                }
            });
        });
    }
    let target = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let run = {
        let slug = slug.clone();
        move |action: &'static str| {
            let chosen: Vec<String> = selected.with_untracked(|set| {
                items.with_untracked(|list| {
                    list.iter()
                        .filter(|image| set.contains(&image.public_id))
                        .map(|image| image.public_id.clone())
                        .collect()
                })
            });
            if chosen.is_empty() {
                return;
            }
            let to = target.get_untracked();
            if action != "remove" && to.is_empty() {
                message.set(Some("Choose the collection to put them in.".into()));
                return;
            }
            let before = items.get_untracked();
            if action != "copy" {
                items.update(|list| list.retain(|image| !chosen.contains(&image.public_id)));
            }
            busy.set(true);
            message.set(None);
            let slug = slug.clone();
            leptos::task::spawn_local(async move {
                let outcome =
                    bulk_collection_items(slug, action.to_owned(), chosen, (!to.is_empty()).then_some(to)).await;
                busy.set(false);
                match outcome {
                    Ok(_) => {
                        selected.set(HashSet::new());
                        changes.update(|n| *n += 1);
                    }
                    Err(error) => {
                        items.set(before);
                        message.set(Some(format!("Nothing was changed: {error}")));
                    }
                }
            });
        }
    };
    let (run_move, run_copy, run_remove) = (run.clone(), run.clone(), run);
    view! {
        <div class="sticky top-2 z-10 mb-4 flex flex-wrap items-center gap-3 rounded-2xl border border-line bg-surface p-3 shadow-sm"
            class:hidden=move || selected.with(HashSet::is_empty) data-testid="bulk-bar">
            <span class="text-sm font-medium text-ink" data-testid="selected-count">
                {move || match selected.with(HashSet::len) { 1 => "1 image selected".to_owned(), n => format!("{n} images selected") }}
            </span>
            <label class="sr-only" for="bulk-target">"Collection to move or copy to"</label>
            <select id="bulk-target" class="h-9 rounded-lg border border-line bg-canvas px-2 text-sm text-ink" data-testid="bulk-target"
                on:change=move |event| target.set(event_target_value(&event))>
                <option value="">"Choose a collection…"</option>
                {move || others.get().unwrap_or_default().into_iter()
                    .map(|(slug, name)| view! { <option value=slug>{name}</option> })
                    .collect_view()}
            </select>
            <button type="button" class="btn-secondary h-9 px-4" disabled=move || busy.get() on:click=move |_| run_move("move") data-testid="bulk-move">"Move"</button>
            <button type="button" class="btn-secondary h-9 px-4" disabled=move || busy.get() on:click=move |_| run_copy("copy") data-testid="bulk-copy">"Copy"</button>
            <button type="button" class="btn-secondary h-9 px-4" disabled=move || busy.get() on:click=move |_| run_remove("remove") data-testid="bulk-remove">"Remove"</button>
            <button type="button" class="nav-link ml-auto" on:click=move |_| selected.set(HashSet::new())>"Clear selection"</button>
        </div>
    }
}
