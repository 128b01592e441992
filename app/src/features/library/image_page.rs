//! `/photos/{id}`: one image — large and responsive, its BlurHash until it loads — with the
//! download menu, contributor card, tags, details and related images.

use super::{
    api::{photo_details, DownloadLink},
    views::ImageGrid,
    ImageDetails, SizeOption,
};
use crate::features::collections::save_views::SavePicker;
use crate::{
    dates::format_day,
    ui::{
        form::{action_error, FormAlert},
        meta::PageMeta,
        status::{ErrorNotice, NotFound},
    },
};
use leptos::{form::ActionForm, prelude::*};
use leptos_router::{components::A, hooks::use_params_map};

/// `2.4 MB`, `830 KB`.
pub fn human_bytes(bytes: u64) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1_000_000.0)
    } else {
        format!("{} KB", bytes.div_ceil(1000).max(1))
    }
}

#[component]
pub fn ImagePage() -> impl IntoView {
    let params = use_params_map();
    let public_id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let details = Resource::new(move || public_id.get(), photo_details);
    view! {
        <Suspense fallback=|| view! { <div class="mx-auto h-[70vh] max-w-6xl animate-pulse rounded-2xl bg-line/40 m-6"></div> }>
            {move || Suspend::new(async move {
                match details.await {
                    Ok(Some(image)) => view! { <ImageView image/> }.into_any(),
                    Ok(None) => view! { <NotFound/> }.into_any(),
                    Err(error) => view! {
                        <div class="mx-auto max-w-3xl px-4 py-16"><ErrorNotice error retry_href="/photos"/></div>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ImageView(image: ImageDetails) -> impl IntoView {
    let srcset = image
        .sources
        .iter()
        .map(|(url, width)| format!("{url} {width}w"))
        .collect::<Vec<_>>()
        .join(", ");
    let src = image
        .sources
        .iter()
        .rfind(|(_, width)| *width <= 1200)
        .or(image.sources.last())
        .map(|(url, _)| url.clone())
        .unwrap_or_default();
    let frame_style = format!(
        "aspect-ratio:{} / {};background-color:{};background-image:url('{}')",
        image.width, image.height, image.dominant_color, image.placeholder
    );
    let description = if image.description.is_empty() {
        image.alt_text.clone()
    } else {
        image.description.clone()
    };
    let contributor_href = format!("/contributors/{}", image.contributor.slug);
    let tags = image.tags.clone();
    let report_href = format!(
        "mailto:abuse@atelier.example?subject=Report%20image%20{}",
        image.public_id
    );
    view! {
        <PageMeta title=image.title.clone() description=description.clone()/>
        <article class="mx-auto max-w-6xl px-4 pb-16 pt-8 sm:px-6" data-testid="image-page">
            <div class="image-frame mx-auto overflow-hidden rounded-2xl bg-cover bg-center" style=frame_style
                class:max-w-3xl=image.orientation == "portrait">
                <img
                    src=src
                    srcset=srcset
                    sizes="(min-width: 1152px) 1152px, 100vw"
                    width=image.width
                    height=image.height
                    alt=image.alt_text.clone()
                    fetchpriority="high"
                    decoding="async"
                    class="block size-full object-contain"
                    data-testid="image-main"
                />
            </div>
            <div class="mt-8 grid gap-10 lg:grid-cols-[1fr_20rem]">
                <div class="min-w-0">
                    <h1 class="text-balance font-display text-3xl font-semibold tracking-tight text-ink sm:text-4xl">{image.title.clone()}</h1>
                    <p class="mt-3 max-w-prose text-muted">{description}</p>
                    <dl class="mt-6 grid grid-cols-2 gap-x-6 gap-y-3 text-sm sm:grid-cols-4">
                        <Fact label="Views" value=image.view_count.to_string() testid="view-count"/>
                        <Fact label="Downloads" value=image.download_count.to_string() testid="download-count"/>
                        <Fact label="Size" value=format!("{} × {}", image.width, image.height) testid="dimensions"/>
                        <Fact label="Published" value=format_day(image.created_at) testid="published"/>
                    </dl>
                    {(!image.prompt.is_empty()).then(|| view! {
                        <section class="mt-8">
                            <h2 class="text-sm font-semibold uppercase tracking-wide text-muted">"Prompt"</h2>
                            <p class="mt-2 max-w-prose rounded-xl bg-line/30 p-4 font-mono text-sm text-ink">{image.prompt.clone()}</p>
                        </section>
                    })}
                    {(!tags.is_empty()).then(move || view! {
                        <section class="mt-8">
                            <h2 class="text-sm font-semibold uppercase tracking-wide text-muted">"Tags"</h2>
                            <ul class="mt-3 flex flex-wrap gap-2">
                                {tags.into_iter().map(|tag| {
                                    let href = format!("/photos?q={}", tag.replace(' ', "+"));
                                    view! { <li><A href=href attr:class="tag-chip">{tag}</A></li> }
                                }).collect_view()}
                            </ul>
                        </section>
                    })}
                </div>
                <aside class="space-y-6">
                    <DownloadMenu public_id=image.public_id.clone() sizes=image.sizes.clone() preferred=image.preferred_size.clone()/>
                    <section id="save" class="card" aria-labelledby="save-heading">
                        <h2 id="save-heading" class="mb-4 font-semibold text-ink">"Save to a collection"</h2>
                        <SavePicker public_id=image.public_id.clone() next=format!("/photos/{}", image.public_id)/>
                    </section>
                    <a href=contributor_href class="card flex items-center gap-4 hover:border-accent" data-testid="contributor-card">
                        <span class="inline-flex size-12 shrink-0 items-center justify-center rounded-full font-semibold text-white"
                            style=format!("background-color:{}", image.contributor.accent_color) aria-hidden="true">
                            {image.contributor.name.chars().next().unwrap_or('?').to_string()}
                        </span>
                        <span class="min-w-0">
                            <span class="block font-semibold text-ink">{image.contributor.name.clone()}</span>
                            <span class="block truncate text-sm text-muted">{image.contributor.style.clone()}</span>
                        </span>
                    </a>
                    {image.category.clone().map(|category| view! {
                        <p class="text-sm text-muted">"In "
                            <a class="font-medium text-accent hover:underline" href=format!("/categories/{}", category.slug)>{category.name}</a>
                        </p>
                    })}
                    <p class="text-sm text-muted">"Free to use for anything, no attribution needed. "
                        <a class="text-accent hover:underline" href=report_href>"Report this image"</a>
                    </p>
                </aside>
            </div>
            {(!image.related.is_empty()).then(|| {
                let related = image.related.clone();
                view! {
                    <section class="mt-16" aria-labelledby="related-heading">
                        <h2 id="related-heading" class="font-display text-2xl font-semibold text-ink">"More like this"</h2>
                        <div class="mt-6"><ImageGrid images=Signal::stored(related)/></div>
                    </section>
                }
            })}
        </article>
    }
}

#[component]
fn Fact(#[prop(into)] label: String, value: String, testid: &'static str) -> impl IntoView {
    view! {
        <div>
            <dt class="text-muted">{label}</dt>
            <dd class="font-medium text-ink" data-testid=testid>{value}</dd>
        </div>
    }
}

/// A size menu and a Download button. The form posts to a server function that answers
/// with a redirect to a signed link, so it works before hydration as well.
#[component]
fn DownloadMenu(public_id: String, sizes: Vec<SizeOption>, preferred: Option<String>) -> impl IntoView {
    let action = ServerAction::<DownloadLink>::new();
    let error = action_error(action);
    // With JavaScript the server answers with the signed path; opening it is a real page
    // load, which the browser turns into a download.
    Effect::new(move |_| {
        if let Some(Ok(path)) = action.value().get() {
            if let Err(error) = window().location().set_href(&path) {
                leptos::logging::error!("could not open the download link: {error:?}");
            }
        }
    });
    // The member's preference when this image has it, else the large size, else the original.
    let available = |size: &str| sizes.iter().any(|option| option.variant == size);
    let chosen = preferred
        .filter(|size| available(size))
        .or_else(|| {
            ["full", "original"]
                .into_iter()
                .find(|size| available(size))
                .map(str::to_owned)
        })
        .unwrap_or_default();
    view! {
        <ActionForm action=action attr:class="card space-y-4" attr:data-testid="download-menu">
            <input type="hidden" name="public_id" value=public_id/>
            <FormAlert error/>
            <fieldset>
                <legend class="font-semibold text-ink">"Download"</legend>
                <div class="mt-3 space-y-2">
                    {sizes.into_iter().map(|size| {
                        let checked = size.variant == chosen;
                        let id = format!("size-{}", size.variant);
                        let label_for = id.clone();
                        view! {
                            <label for=label_for class="flex cursor-pointer items-center justify-between gap-3 rounded-lg border border-line px-3 py-2 text-sm has-[:checked]:border-accent">
                                <span class="flex items-center gap-2">
                                    <input id=id type="radio" name="size" value=size.variant.clone() checked=checked class="accent-[var(--accent)]"/>
                                    <span class="font-medium text-ink">{size.label.clone()}</span>
                                </span>
                                <span class="text-muted">{format!("{} × {} · {}", size.width, size.height, human_bytes(size.bytes))}</span>
                            </label>
                        }
                    }).collect_view()}
                </div>
            </fieldset>
            <button type="submit" class="btn-primary w-full" data-testid="download-button">"Download free"</button>
        </ActionForm>
    }
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(human_bytes(2_400_000), "2.4 MB");
        assert_eq!(human_bytes(830_100), "831 KB");
        assert_eq!(human_bytes(10), "1 KB");
    }
}
