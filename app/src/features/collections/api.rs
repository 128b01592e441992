//! Server functions for collections: thin wrappers that find the member, call the service
//! (which checks ownership) and, for plain form posts without JavaScript, send the browser
//! back where it came from.
//!
//! Each reads the application state before its first `.await`: called from a resource
//! during a server render, the resource's owner (and with it the context) may be gone by
//! the time the future resumes.

use super::{BulkOutcome, CollectionExport, CollectionSummary, CollectionView, ItemsRequest, SaveTarget};
use crate::error::AppError;
use leptos::prelude::*;

/// After a plain form post (no JavaScript yet) the browser goes to `next`; a script gets
/// the answer instead and updates the page itself.
#[cfg(feature = "ssr")]
fn back_to(next: Option<&str>) {
    crate::platform::request::back_to(&crate::platform::redirect::safe_next(next));
}

#[cfg(feature = "ssr")]
fn now() -> i64 {
    crate::platform::clock::now_unix()
}

/// The signed-in member's collections, most recently changed first.
#[server]
pub async fn my_collections() -> Result<Vec<CollectionSummary>, AppError> {
    let state = crate::platform::state::app_state();
    let member = crate::features::accounts::guard::require_member().await?;
    Ok(super::service::list_mine(&state.db, member.user_id).await?)
}

/// Makes a collection; `visibility` is `public` or anything else for private. Returns its
/// slug; a plain form post goes to the new collection's page.
#[server]
pub async fn create_collection(
    name: String,
    description: Option<String>,
    visibility: Option<String>,
) -> Result<String, AppError> {
    let state = crate::platform::state::app_state();
    let member = crate::features::accounts::guard::require_member().await?;
    let slug = super::service::create(
        &state.db,
        member.user_id,
        &name,
        description.as_deref().unwrap_or_default(),
        visibility.as_deref() == Some("public"),
        member_limits(&state, member.user_id).await?,
        now(),
    )
    .await?;
    back_to(Some(&super::collection_href(&slug)));
    Ok(slug)
}

/// Renames, re-describes or changes the visibility of one of the member's collections.
#[server]
pub async fn update_collection(
    slug: String,
    name: String,
    description: Option<String>,
    visibility: Option<String>,
) -> Result<(), AppError> {
    let state = crate::platform::state::app_state();
    let member = crate::features::accounts::guard::require_member().await?;
    super::service::update(
        &state.db,
        member.user_id,
        &slug,
        &name,
        description.as_deref().unwrap_or_default(),
        visibility.as_deref() == Some("public"),
        now(),
    )
    .await?;
    back_to(Some(&super::collection_href(&slug)));
    Ok(())
}

/// Deletes one of the member's collections; it can be restored for a few minutes.
#[server]
pub async fn delete_collection(slug: String) -> Result<(), AppError> {
    let state = crate::platform::state::app_state();
    let member = crate::features::accounts::guard::require_member().await?;
    super::service::delete(&state.db, member.user_id, &slug, now()).await?;
    back_to(Some(&format!("/collections?deleted={slug}")));
    Ok(())
}

/// Brings back a collection deleted within the undo window.
#[server]
pub async fn restore_collection(slug: String) -> Result<(), AppError> {
    let state = crate::platform::state::app_state();
    let member = crate::features::accounts::guard::require_member().await?;
    super::service::restore(
        &state.db,
        member.user_id,
        &slug,
        member_limits(&state, member.user_id).await?,
        now(),
    )
    .await?;
    back_to(Some(&super::collection_href(&slug)));
    Ok(())
}

/// A page of a collection for whoever is looking, or `None` when it does not exist for
/// them: private collections exist only for their owner. (The page answers 404 by
/// rendering `NotFound`; this call itself succeeds, so a script can tell "not found" from
/// a failure.)
#[server]
pub async fn collection_page(request: ItemsRequest) -> Result<Option<CollectionView>, AppError> {
    use super::service::{self, CollectionError};
    let state = crate::platform::state::app_state();
    let viewer = crate::features::accounts::guard::current_member().await?;
    if request.slug.len() > 120 {
        return Ok(None);
    }
    match service::items(&state.db, viewer.map(|member| member.user_id), &request).await {
        Ok(view) => Ok(Some(view)),
        Err(CollectionError::NotFound) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// The member's collections for the save picker, each saying whether it holds the image;
/// `None` when nobody is signed in.
#[server]
pub async fn save_targets(public_id: String) -> Result<Option<Vec<SaveTarget>>, AppError> {
    let state = crate::platform::state::app_state();
    let Some(member) = crate::features::accounts::guard::current_member().await? else {
        return Ok(None);
    };
    Ok(Some(
        super::service::save_targets(&state.db, member.user_id, &public_id).await?,
    ))
}

/// Saves an image in one of the member's collections (a second save changes nothing).
#[server]
pub async fn add_to_collection(slug: String, public_id: String, next: Option<String>) -> Result<bool, AppError> {
    let state = crate::platform::state::app_state();
    let member = crate::features::accounts::guard::require_member().await?;
    let added = super::service::add_item(
        &state.db,
        member.user_id,
        &slug,
        &public_id,
        member_limits(&state, member.user_id).await?,
        now(),
    )
    .await?;
    back_to(next.as_deref());
    Ok(added)
}

/// Takes an image out of one of the member's collections.
#[server]
pub async fn remove_from_collection(slug: String, public_id: String, next: Option<String>) -> Result<bool, AppError> {
    let state = crate::platform::state::app_state();
    let member = crate::features::accounts::guard::require_member().await?;
    let removed = super::service::remove_item(&state.db, member.user_id, &slug, &public_id, now()).await?;
    back_to(next.as_deref());
    Ok(removed)
}

/// Makes a private collection called `name` holding the image. Returns the new slug.
#[server]
pub async fn save_to_new_collection(name: String, public_id: String, next: Option<String>) -> Result<String, AppError> {
    let state = crate::platform::state::app_state();
    let member = crate::features::accounts::guard::require_member().await?;
    let slug = super::service::create_with_item(
        &state.db,
        member.user_id,
        &name,
        &public_id,
        member_limits(&state, member.user_id).await?,
        now(),
    )
    .await?;
    back_to(next.as_deref());
    Ok(slug)
}

/// Moves one image to `to_index` (0-based) in the member's own order of the collection.
#[server]
pub async fn move_collection_item(slug: String, public_id: String, to_index: u32) -> Result<(), AppError> {
    let state = crate::platform::state::app_state();
    let member = crate::features::accounts::guard::require_member().await?;
    super::service::move_item(&state.db, member.user_id, &slug, &public_id, to_index, now()).await?;
    Ok(())
}

/// Moves, copies (`action`) or removes the chosen images; `target` names the collection
/// they go to.
#[server]
pub async fn bulk_collection_items(
    slug: String,
    action: String,
    images: Vec<String>,
    target: Option<String>,
) -> Result<BulkOutcome, AppError> {
    let state = crate::platform::state::app_state();
    let member = crate::features::accounts::guard::require_member().await?;
    let action =
        super::BulkAction::parse(&action).ok_or_else(|| AppError::field("action", "Choose move, copy or remove."))?;
    let change = super::service::BulkChange {
        action,
        public_ids: &images,
        target: target.as_deref(),
    };
    Ok(super::service::bulk(
        &state.db,
        member.user_id,
        &slug,
        change,
        member_limits(&state, member.user_id).await?,
        now(),
    )
    .await?)
}

/// Makes one of the collection's images its cover.
#[server]
pub async fn set_collection_cover(slug: String, public_id: String) -> Result<(), AppError> {
    let state = crate::platform::state::app_state();
    let member = crate::features::accounts::guard::require_member().await?;
    super::service::set_cover(&state.db, member.user_id, &slug, &public_id, now()).await?;
    Ok(())
}

/// Which of these images the member has saved anywhere (grids mark them); empty when
/// nobody is signed in.
#[server]
pub async fn saved_images(public_ids: Vec<String>) -> Result<Vec<String>, AppError> {
    let state = crate::platform::state::app_state();
    let Some(member) = crate::features::accounts::guard::current_member().await? else {
        return Ok(Vec::new());
    };
    if public_ids.len() > 200 {
        return Err(AppError::Invalid("Ask about at most 200 images at a time.".into()));
    }
    Ok(super::service::saved_among(&state.db, member.user_id, &public_ids).await?)
}

/// Starts an export of one of the member's collections: every image at `variant` (one of
/// the export sizes), the originals too when `originals` is true, and a manifest. The job
/// queue builds it; [`collection_exports`] reports its progress. A plain form post goes
/// back to the collection's export list.
#[server]
pub async fn export_collection(
    slug: String,
    variant: String,
    originals: Option<bool>,
) -> Result<CollectionExport, AppError> {
    let state = crate::platform::state::app_state();
    let member = crate::features::accounts::guard::require_member().await?;
    let export = super::export::request(
        &state.db,
        &state.jobs,
        member.user_id,
        &slug,
        &variant,
        originals.unwrap_or(false),
        now(),
    )
    .await?;
    back_to(Some(&format!("{}#exports", super::collection_href(&slug))));
    Ok(export)
}

/// The member's latest exports of their collection, newest first, with progress and, once
/// ready, the download link until it expires.
#[server]
pub async fn collection_exports(slug: String) -> Result<Vec<CollectionExport>, AppError> {
    let state = crate::platform::state::app_state();
    let member = crate::features::accounts::guard::require_member().await?;
    Ok(super::export::list(&state.db, member.user_id, &slug, now()).await?)
}

/// The limits of the member's plan: the configured ones, times the plan's factor.
#[cfg(feature = "ssr")]
async fn member_limits(state: &crate::platform::state::AppState, user_id: i64) -> Result<super::Limits, AppError> {
    let plan = crate::features::billing::account::effective_plan(&state.db, user_id)
        .await
        .map_err(|error| {
            tracing::error!(%error, "the member's plan could not be read");
            AppError::Internal
        })?;
    Ok(state.config.collection_limits.scaled(plan.facts().collection_factor))
}
