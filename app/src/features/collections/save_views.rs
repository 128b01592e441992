//! Saving an image: the picker that lists the member's collections with a Save / Saved
//! toggle each and a "new collection" field, on the image page and in a dialog from any
//! grid tile; and the "saved" marks tiles show. Every toggle is a form that works before
//! hydration; after it, the change shows at once and is undone, with a message, when the
//! server refuses it.

use super::{
    api::{save_targets, saved_images, AddToCollection, RemoveFromCollection, SaveToNewCollection},
    SaveTarget, MAX_NAME_CHARS,
};
use leptos::{form::ActionForm, html, prelude::*};
use std::collections::BTreeSet;

/// Adds or removes one id in a list of ids kept without repeats.
fn mark(list: &mut Vec<String>, id: &str, saved: bool) {
    let at = list.iter().position(|known| known == id);
    match (at, saved) {
        (None, true) => list.push(id.to_owned()),
        (Some(at), false) => {
            list.swap_remove(at);
        }
        _ => {}
    }
}

/// Which images the signed-in member has saved somewhere, as far as this page knows:
/// grids fill it for their tiles, and pickers keep it up to date. A plain list rather than
/// a set: this lives in the first download, where every generic instance costs bytes.
#[derive(Clone, Copy)]
pub struct SavedMarks {
    pub saved: RwSignal<Vec<String>>,
    /// Set by the header once it knows someone is signed in; grids ask only then.
    pub signed_in: RwSignal<bool>,
}

pub fn provide_saved_marks() {
    provide_context(SavedMarks {
        saved: RwSignal::new(Vec::new()),
        signed_in: RwSignal::new(false),
    });
}

pub fn saved_marks() -> Option<SavedMarks> {
    use_context::<SavedMarks>()
}

/// Asks, once per set of tiles, which of them the member has saved (after hydration, and
/// only when someone is signed in: visitors cost nothing).
pub fn mark_saved_tiles(ids: Signal<Vec<String>>) {
    let Some(marks) = saved_marks() else { return };
    // A growing grid asks only about the tiles it has not asked about yet.
    let asked = StoredValue::new(Vec::<String>::new());
    Effect::new(move |_| {
        if !marks.signed_in.get() {
            return;
        }
        let ids: Vec<String> = ids
            .get()
            .into_iter()
            .filter(|id| asked.with_value(|asked| !asked.contains(id)))
            .collect();
        if ids.is_empty() {
            return;
        }
        asked.update_value(|asked| asked.extend(ids.iter().cloned()));
        leptos::task::spawn_local(async move {
            for chunk in ids.chunks(200) {
                if let Ok(found) = saved_images(chunk.to_vec()).await {
                    marks.saved.update(|saved| {
                        for id in &found {
                            mark(saved, id, true);
                        }
                    });
                }
            }
        });
    });
}

/// The picker: the member's collections, each with a toggle, and a new collection field.
/// `next` is where a plain form post returns to (the page it is on).
#[component]
pub fn SavePicker(#[prop(into)] public_id: String, #[prop(into)] next: String) -> impl IntoView {
    let create = ServerAction::<SaveToNewCollection>::new();
    let message = RwSignal::new(None::<String>);
    // The new collection's name outlives the list (which is drawn again after each
    // creation): kept when the server refuses it, cleared once the collection exists.
    let new_name = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get() {
            new_name.set(String::new());
        }
    });
    let resource_id = public_id.clone();
    let targets = Resource::new(
        move || create.version().get(),
        move |_| save_targets(resource_id.clone()),
    );
    let sign_in_href = format!("/signin?next={}", crate::features::library::encode_query_value(&next));
    view! {
        <div class="space-y-4" data-testid="save-picker">
            <p role="alert" class="form-alert" class:hidden=move || message.get().is_none() data-testid="save-message">
                {move || message.get()}
            </p>
            <Transition fallback=|| view! { <p class="text-sm text-muted" aria-busy="true">"Loading your collections…"</p> }>
                {move || {
                    let (public_id, next, sign_in_href) = (public_id.clone(), next.clone(), sign_in_href.clone());
                    Suspend::new(async move {
                        match targets.await {
                            Ok(None) => view! {
                                <p class="text-sm text-muted">"Sign in to keep images in collections of your own."</p>
                                <a href=sign_in_href class="btn-secondary mt-3 w-full" data-testid="save-sign-in">"Sign in to save"</a>
                            }.into_any(),
                            Ok(Some(list)) => view! { <SaveList list public_id next message create new_name/> }.into_any(),
                            Err(error) => view! { <p role="alert" class="form-alert">{error.to_string()}</p> }.into_any(),
                        }
                    })
                }}
            </Transition>
        </div>
    }
}

#[component]
fn SaveList(
    list: Vec<SaveTarget>,
    public_id: String,
    next: String,
    message: RwSignal<Option<String>>,
    create: ServerAction<SaveToNewCollection>,
    new_name: RwSignal<String>,
) -> impl IntoView {
    // Which of the member's collections hold the image, as confirmed by the server; the
    // image's "saved" mark follows it.
    let holding = RwSignal::new(
        list.iter()
            .filter(|target| target.contains)
            .map(|target| target.slug.clone())
            .collect::<BTreeSet<_>>(),
    );
    if let Some(marks) = saved_marks() {
        let public_id = public_id.clone();
        Effect::new(move |_| {
            let saved = !holding.get().is_empty();
            marks.saved.update(|list| mark(list, &public_id, saved));
        });
    }
    Effect::new(move |_| {
        if let Some(Err(error)) = create.value().get() {
            message.set(Some(format!("The collection was not made: {error}")));
        }
    });
    let empty = list.is_empty();
    view! {
        {empty.then(|| view! { <p class="text-sm text-muted">"You have no collections yet. Name one below and this image goes in it."</p> })}
        <ul class="space-y-2" data-testid="save-targets">
            {list.into_iter().map(|target| view! {
                <SaveRow target public_id=public_id.clone() next=next.clone() message holding/>
            }).collect_view()}
        </ul>
        <ActionForm action=create attr:class="flex gap-2" attr:data-testid="save-new-collection">
            <input type="hidden" name="public_id" value=public_id.clone()/>
            <input type="hidden" name="next" value=next.clone()/>
            <label for=format!("new-collection-{public_id}") class="sr-only">"New collection name"</label>
            <input id=format!("new-collection-{public_id}") name="name" required maxlength={MAX_NAME_CHARS.to_string()}
                placeholder="New collection" class="field-input mt-0 h-10 flex-1 text-sm"
                prop:value=move || new_name.get() on:input=move |event| new_name.set(event_target_value(&event))/>
            <button type="submit" class="btn-secondary h-10 px-4" disabled=move || create.pending().get()>
                {move || if create.pending().get() { "Creating…" } else { "Create" }}
            </button>
        </ActionForm>
    }
}

/// One collection in the picker. While a change is on its way the toggle already shows
/// it; when the server refuses, the toggle returns and the message says why.
#[component]
fn SaveRow(
    target: SaveTarget,
    public_id: String,
    next: String,
    message: RwSignal<Option<String>>,
    holding: RwSignal<BTreeSet<String>>,
) -> impl IntoView {
    let add = ServerAction::<AddToCollection>::new();
    let remove = ServerAction::<RemoveFromCollection>::new();
    let confirmed = RwSignal::new(target.contains);
    let count = RwSignal::new(target.item_count);
    let name = target.name.clone();
    let slug = target.slug.clone();
    // What the server confirmed: the toggle, the count and the image's saved mark follow it.
    let settle = {
        let slug = slug.clone();
        move |now_saved: bool, changed: bool| {
            confirmed.set(now_saved);
            if changed {
                count.update(|count| *count = if now_saved { *count + 1 } else { count.saturating_sub(1) });
            }
            holding.update(|set| {
                if now_saved {
                    set.insert(slug.clone());
                } else {
                    set.remove(&slug);
                }
            });
            message.set(None);
        }
    };
    {
        let (name, settle) = (name.clone(), settle.clone());
        Effect::new(move |_| match add.value().get() {
            Some(Ok(added)) => settle(true, added),
            Some(Err(error)) => message.set(Some(format!("Not saved to “{name}”: {error}"))),
            None => {}
        });
    }
    {
        let name = name.clone();
        Effect::new(move |_| match remove.value().get() {
            Some(Ok(removed)) => settle(false, removed),
            Some(Err(error)) => message.set(Some(format!("Not removed from “{name}”: {error}"))),
            None => {}
        });
    }
    let saved = Memo::new(move |_| {
        if add.pending().get() {
            true
        } else if remove.pending().get() {
            false
        } else {
            confirmed.get()
        }
    });
    let label = name.clone();
    let (row_slug, href) = (slug.clone(), super::collection_href(&slug));
    view! {
        <li class="flex items-center justify-between gap-3 rounded-xl border border-line px-3 py-2" data-collection=row_slug>
            <span class="min-w-0">
                <a href=href class="block truncate text-sm font-medium text-ink hover:underline">{name.clone()}</a>
                <span class="block text-xs text-muted" data-testid="save-count">
                    {move || match count.get() { 1 => "1 image".to_owned(), n => format!("{n} images") }}
                    {(!target.is_public).then_some(" · private")}
                </span>
            </span>
            {move || {
                let (slug, public_id, next, label) = (slug.clone(), public_id.clone(), next.clone(), label.clone());
                if saved.get() {
                    view! {
                        <ActionForm action=remove>
                            <input type="hidden" name="slug" value=slug/>
                            <input type="hidden" name="public_id" value=public_id/>
                            <input type="hidden" name="next" value=next/>
                            <button type="submit" class="btn-primary h-9 px-4" aria-pressed="true"
                                aria-label=format!("Saved in {label}; remove it") data-testid="save-toggle">"Saved"</button>
                        </ActionForm>
                    }.into_any()
                } else {
                    view! {
                        <ActionForm action=add>
                            <input type="hidden" name="slug" value=slug/>
                            <input type="hidden" name="public_id" value=public_id/>
                            <input type="hidden" name="next" value=next/>
                            <button type="submit" class="btn-secondary h-9 px-4" aria-pressed="false"
                                aria-label=format!("Save to {label}") data-testid="save-toggle">"Save"</button>
                        </ActionForm>
                    }.into_any()
                }
            }}
        </li>
    }
}

/// The Save button on a grid tile. Before hydration it is a link to the image page's
/// picker; after it, it opens the picker in a modal dialog (focus stays inside, Escape
/// closes it, focus returns to the button).
#[component]
pub fn TileSaveButton(#[prop(into)] public_id: String, #[prop(into)] title: String) -> impl IntoView {
    let open = RwSignal::new(false);
    let dialog = NodeRef::<html::Dialog>::new();
    let button = NodeRef::<html::A>::new();
    let marks = saved_marks();
    let saved = Signal::derive({
        let public_id = public_id.clone();
        move || marks.is_some_and(|marks| marks.saved.with(|list| list.contains(&public_id)))
    });
    Effect::new(move |_| {
        if open.get() {
            if let Some(dialog) = dialog.get() {
                let _ = dialog.show_modal();
            }
        }
    });
    // Everything outside a modal dialog is inert, so focus can return to the button only
    // once the dialog has closed: closing it fires `close`, which finishes the job.
    let finish = move || {
        open.set(false);
        if let Some(button) = button.get_untracked() {
            let _ = button.focus();
        }
    };
    let close = move || match dialog.get_untracked() {
        Some(dialog) => dialog.close(),
        None => finish(),
    };
    let href = format!("/photos/{public_id}#save");
    let picker_id = public_id.clone();
    let heading = title.clone();
    view! {
        <a
            node_ref=button
            href=href
            class="tile-save"
            class:tile-save-on=move || saved.get()
            aria-haspopup="dialog"
            aria-label=move || if saved.get() { format!("Saved: {title}. Change collections") } else { format!("Save {title} to a collection") }
            data-testid="tile-save"
            on:click=move |event| {
                event.prevent_default();
                open.set(true);
            }
        >
            <svg aria-hidden="true" viewBox="0 0 24 24" class="size-4" fill=move || if saved.get() { "currentColor" } else { "none" } stroke="currentColor" stroke-width="2">
                <path d="M6 3h12a1 1 0 0 1 1 1v17l-7-4-7 4V4a1 1 0 0 1 1-1z"/>
            </svg>
            <span>{move || if saved.get() { "Saved" } else { "Save" }}</span>
        </a>
        <Show when=move || open.get()>
            <dialog
                node_ref=dialog
                class="save-dialog"
                aria-label=format!("Save “{heading}”")
                data-testid="save-dialog"
                on:close=move |_| finish()
                on:click=move |event| {
                    // A click on the backdrop lands on the dialog element itself.
                    if event.target() == event.current_target() {
                        close();
                    }
                }
            >
                <div class="p-6">
                    <div class="flex items-center justify-between gap-4">
                        <h2 class="font-semibold text-ink">"Save to a collection"</h2>
                        <button type="button" class="nav-link" on:click=move |_| close() data-testid="save-dialog-close">"Close"</button>
                    </div>
                    <div class="mt-4"><SavePicker public_id=picker_id.clone() next=format!("/photos/{picker_id}")/></div>
                </div>
            </dialog>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::mark;

    #[test]
    fn marks_are_kept_without_repeats() {
        let mut list = Vec::new();
        mark(&mut list, "a", true);
        mark(&mut list, "b", true);
        mark(&mut list, "a", true);
        assert_eq!(list, ["a", "b"]);
        mark(&mut list, "a", false);
        mark(&mut list, "c", false);
        assert_eq!(list, ["b"]);
    }
}
