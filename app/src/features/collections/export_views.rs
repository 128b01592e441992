//! The owner's export controls on a collection page: choose a size (and the originals),
//! start the zip, watch its progress, and download it while its link lasts. Both work as
//! plain forms and links before the page is hydrated.

use super::{
    api::{collection_exports, ExportCollection},
    export_size_label, CollectionExport, ExportStatus, EXPORT_SIZES,
};
use crate::{
    dates::{format_day, format_day_time},
    error::AppError,
    features::library::image_page::human_bytes,
    ui::form::{action_error, FormAlert, SubmitButton},
};
use leptos::{form::ActionForm, prelude::*};
use leptos_router::hooks::use_query_map;
use std::time::Duration;

/// The collection's exports, shared by the form that starts one and the list that shows
/// them: starting an export refreshes the list, and the list polls while one is being made.
#[derive(Clone, Copy)]
pub struct ExportTracker {
    start: ServerAction<ExportCollection>,
    exports: Resource<Result<Vec<CollectionExport>, AppError>>,
}

impl ExportTracker {
    pub fn new(slug: String) -> Self {
        let start = ServerAction::<ExportCollection>::new();
        // Bumped every second while an export is being made, so its progress moves.
        let tick = RwSignal::new(0u32);
        let exports = Resource::new(
            move || (start.version().get(), tick.get()),
            move |_| collection_exports(slug.clone()),
        );
        Effect::new(move |_| {
            if matches!(exports.get(), Some(Ok(ref list)) if list.iter().any(|e| e.status.in_progress())) {
                set_timeout(
                    // The page may be gone by then; a disposed signal is simply left alone.
                    move || {
                        tick.try_update(|n| *n = n.wrapping_add(1));
                    },
                    Duration::from_secs(1),
                );
            }
        });
        ExportTracker { start, exports }
    }
}

/// "Export": a disclosure with the size, the originals and the button that starts the zip.
#[component]
pub fn ExportForm(slug: String, tracker: ExportTracker) -> impl IntoView {
    let error = action_error(tracker.start);
    // Once the export has started the panel closes, so the list below (with its progress,
    // then the download link) is what the member sees; focus returns to "Export".
    let panel = NodeRef::<leptos::html::Details>::new();
    Effect::new(move |_| {
        if let (Some(Ok(_)), Some(details)) = (tracker.start.value().get(), panel.get_untracked()) {
            details.set_open(false);
            if let Ok(Some(summary)) = details.query_selector("summary") {
                use web_sys::wasm_bindgen::JsCast;
                if let Ok(summary) = summary.dyn_into::<web_sys::HtmlElement>() {
                    let _ = summary.focus();
                }
            }
        }
    });
    view! {
        <details class="relative" data-testid="export-collection" node_ref=panel>
            <summary class="btn-secondary h-10 cursor-pointer list-none px-4">"Export"</summary>
            <ActionForm action=tracker.start attr:class="card absolute right-0 z-20 mt-2 w-80 space-y-4 shadow-xl">
                <input type="hidden" name="slug" value=slug/>
                <p class="text-sm text-ink">
                    "A zip of every image in this collection, in its order, with a manifest of titles, contributors and the licence. The link works for a day."
                </p>
                <FormAlert error/>
                <fieldset class="space-y-2">
                    <legend class="field-label">"Size"</legend>
                    {EXPORT_SIZES.iter().map(|(value, label)| view! {
                        <label class="flex items-center gap-2 text-sm text-ink">
                            <input type="radio" name="variant" value=*value checked=*value == "full" class="accent-accent"/>
                            {*label}
                        </label>
                    }).collect_view()}
                </fieldset>
                <label class="flex items-center gap-2 text-sm text-ink">
                    <input type="checkbox" name="originals" value="true" class="accent-accent"/>
                    "Include the originals as well"
                </label>
                <SubmitButton label="Make the zip" busy_label="Starting…" pending=tracker.start.pending()/>
            </ActionForm>
        </details>
    }
}

/// The latest exports with their progress or download link; nothing while there are none.
#[component]
pub fn ExportList(slug: String, tracker: ExportTracker) -> impl IntoView {
    // One short sentence for screen readers when the latest export's state changes (not
    // on every progress tick, nor for the state the page was loaded in). An effect runs
    // only in the browser, after hydration, so the server's HTML and the first client
    // render agree.
    let announcement = RwSignal::new(String::new());
    Effect::new(move |previous: Option<Option<(i64, ExportStatus)>>| {
        let latest = match tracker.exports.get() {
            Some(Ok(list)) => list.first().map(|export| (export.id, export.status)),
            _ => return previous.flatten(),
        };
        if previous.is_some_and(|previous| previous != latest) {
            let sentence = match latest.map(|(_, status)| status) {
                Some(ExportStatus::Queued | ExportStatus::Building) => "Export being made.",
                Some(ExportStatus::Ready) => "Export ready to download.",
                Some(ExportStatus::Failed) => "Export failed.",
                Some(ExportStatus::Expired) | None => "",
            };
            announcement.set(sentence.to_owned());
        }
        latest
    });
    // The download route sends an expired, foreign or unknown export's link back here.
    let link_gone = use_query_map().with_untracked(|query| query.get("export").as_deref() == Some("unavailable"));
    view! {
        {link_gone.then(|| view! {
            <p class="mt-6 rounded-xl border border-line bg-surface px-4 py-3 text-sm text-ink" role="status" data-testid="export-unavailable">
                "That download link no longer works: exports can be downloaded for a day, by the member who made them. Make a new one with Export."
            </p>
        })}
        <p class="sr-only" aria-live="polite">{move || announcement.get()}</p>
        <Transition fallback=|| ()>
            {move || {
                let slug = slug.clone();
                tracker.exports.get().map(move |result| match result {
                    Ok(list) if list.is_empty() => ().into_any(),
                    Ok(list) => view! {
                        <section id="exports" class="mt-8 rounded-2xl border border-line bg-surface p-4" data-testid="collection-exports" aria-labelledby="exports-heading">
                            <div class="flex flex-wrap items-baseline justify-between gap-2">
                                <h2 id="exports-heading" class="font-display text-lg font-semibold text-ink">"Exports"</h2>
                                // Before hydration nothing polls: a reload shows the progress.
                                <a href=format!("{}#exports", super::collection_href(&slug)) class="text-sm text-accent hover:underline">"Check again"</a>
                            </div>
                            <ul class="mt-2 divide-y divide-line">
                                {list.into_iter().map(|export| view! { <ExportRow export/> }).collect_view()}
                            </ul>
                        </section>
                    }
                    .into_any(),
                    Err(error) => view! {
                        <p class="mt-8 text-sm text-danger" role="alert">{format!("Your exports could not be loaded: {error}")}</p>
                    }
                    .into_any(),
                })
            }}
        </Transition>
    }
}

#[component]
fn ExportRow(export: CollectionExport) -> impl IntoView {
    let what = format!(
        "{}{}{}",
        export_size_label(&export.variant),
        if export.with_originals { " + originals" } else { "" },
        export
            .item_count
            .map(|n| if n == 1 {
                " · 1 image".to_owned()
            } else {
                format!(" · {n} images")
            })
            .unwrap_or_default(),
    );
    let state = match export.status {
        ExportStatus::Queued => view! {
            <div class="flex items-center gap-3">
                <progress class="h-2 w-40 accent-accent" max="100" aria-label="Export progress"></progress>
                <span class="text-sm text-muted">"Waiting to start…"</span>
            </div>
        }
        .into_any(),
        ExportStatus::Building => view! {
            <div class="flex items-center gap-3">
                <progress class="h-2 w-40 accent-accent" max="100" value=export.progress aria-label="Export progress"></progress>
                <span class="text-sm text-muted" data-testid="export-progress">{format!("Making the zip… {}%", export.progress)}</span>
            </div>
        }
        .into_any(),
        ExportStatus::Ready => {
            let size = export.size_bytes.map(human_bytes).unwrap_or_default();
            let until = export.expires_at.map(format_day_time).unwrap_or_default();
            view! {
                <div class="flex flex-wrap items-center gap-3">
                    <a href=export.download_href.clone().unwrap_or_default() rel="external" download="" class="btn-primary h-9 px-4"
                        data-testid="download-collection-export">{format!("Download zip ({size})")}</a>
                    <span class="text-sm text-muted">{format!("Link works until {until}")}</span>
                </div>
            }
            .into_any()
        }
        ExportStatus::Failed => view! {
            <span class="text-sm text-danger" data-testid="export-error">
                {export.error.clone().unwrap_or_else(|| "The export could not be made. Please try again.".to_owned())}
            </span>
        }
        .into_any(),
        ExportStatus::Expired => {
            view! { <span class="text-sm text-muted">"Expired: the zip is deleted a day after it is ready"</span> }.into_any()
        }
    };
    view! {
        <li class="flex flex-wrap items-center justify-between gap-3 py-3" data-export-status=export.status.as_str()>
            <span class="text-sm text-ink">
                {what}
                <span class="text-muted">{format!(" · asked for on {}", format_day(export.created_at))}</span>
            </span>
            {state}
        </li>
    }
}
