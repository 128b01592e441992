//! Server functions for the library: thin wrappers that validate input and call the service.

use super::{
    CategoryProfile, ContributorCard, ContributorProfile, ImageDetails, ImagePage, SearchRequest, SearchResults,
};
use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
fn checked_page(page: u32) -> Result<u32, AppError> {
    if page == 0 || page > super::MAX_PAGE {
        return Err(AppError::Invalid("That page does not exist.".into()));
    }
    Ok(page)
}

/// Sets a 404 status on the page being rendered (an unknown contributor, category or image).
#[cfg(feature = "ssr")]
fn not_found_status() {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
}

/// One page of the whole library, `newest` or `popular` first; `page` is 1-based.
#[server]
pub async fn browse_images(page: u32, sort: String) -> Result<ImagePage, AppError> {
    use super::{service, Sort};
    let sort = match sort.as_str() {
        "" | "newest" => Sort::Newest,
        "popular" => Sort::Popular,
        _ => return Err(AppError::field("sort", "Sort by newest or popular.")),
    };
    let state = crate::platform::state::app_state();
    Ok(service::browse(&state.db, service::Scope::All, sort, checked_page(page)?).await?)
}

/// `/search`: words, filters, sort and page, exactly as the query string gives them.
#[server]
pub async fn search_images(filters: SearchRequest) -> Result<SearchResults, AppError> {
    use super::search::{self, Query};
    let query = Query::parse(&filters).map_err(|rejected| AppError::field(rejected.field, rejected.message))?;
    let state = crate::platform::state::app_state();
    let results = search::search(&state.db, &query).await?;
    if query.page == 1 {
        record_search(&state, results.images.images.is_empty()).await;
    }
    Ok(results)
}

/// Counts a new search: whether it found anything, never the words; with the member only
/// while their privacy settings keep their activity history. Counting never fails a search.
#[cfg(feature = "ssr")]
async fn record_search(state: &crate::platform::state::AppState, empty: bool) {
    use crate::platform::usage::UsageKind;
    let member = crate::features::accounts::guard::current_member().await.ok().flatten();
    let user_id = match member {
        Some(member) => crate::features::privacy::settings::records_usage(&state.db, member.user_id)
            .await
            .unwrap_or(false)
            .then_some(member.user_id),
        None => None,
    };
    state
        .usage
        .record(UsageKind::Search, if empty { "empty" } else { "found" }, user_id);
}

/// A contributor and one page of their images, or `None` (and a 404 status).
#[server]
pub async fn fetch_contributor(slug: String, page: u32) -> Result<Option<ContributorProfile>, AppError> {
    let state = crate::platform::state::app_state();
    let profile = if slug.len() > 64 {
        None
    } else {
        super::service::contributor_profile(&state.db, &slug, checked_page(page)?).await?
    };
    if profile.is_none() {
        not_found_status();
    }
    Ok(profile)
}

/// A category and one page of its images, or `None` (and a 404 status).
#[server]
pub async fn fetch_category(slug: String, page: u32) -> Result<Option<CategoryProfile>, AppError> {
    let state = crate::platform::state::app_state();
    let profile = if slug.len() > 64 {
        None
    } else {
        super::service::category_profile(&state.db, &slug, checked_page(page)?).await?
    };
    if profile.is_none() {
        not_found_status();
    }
    Ok(profile)
}

/// Every contributor with a few of their images.
#[server]
pub async fn list_contributors() -> Result<Vec<ContributorCard>, AppError> {
    let state = crate::platform::state::app_state();
    Ok(super::service::contributors(&state.db).await?)
}

/// The image page's data, or `None` (and a 404 status) for an unknown or hidden image.
/// Counts one view per visitor per day, recognised by a keyed hash of address and browser
/// that changes daily: no cookie is read or written for it.
#[server]
pub async fn photo_details(public_id: String) -> Result<Option<ImageDetails>, AppError> {
    use crate::{
        features::{
            accounts::{guard, service as accounts},
            privacy::{consent::DOWNLOAD_SIZE_COOKIE, service as privacy},
        },
        platform::{clock::now_unix, request, state::app_state},
    };
    let state = app_state();
    let Some((image_id, mut details)) = super::service::image_details(&state.db, &public_id).await? else {
        not_found_status();
        return Ok(None);
    };
    let now = now_unix();
    if let Some(parts) = request::request_parts() {
        let visitor = super::service::visitor_key(&state.secret_key, &parts, "view", now);
        if let Err(error) = super::service::record_view(&state.db, image_id, &visitor, now).await {
            tracing::warn!(%error, "could not count a view");
        }
    }
    // A member's saved setting; otherwise the size this browser last downloaded, when its
    // consent allows preference cookies.
    details.preferred_size = match guard::current_member().await? {
        Some(member) => Some(accounts::account(&state.db, member.user_id).await?.download_size),
        None => request::request_parts()
            .and_then(|parts| privacy::read_preference(&state, &parts, DOWNLOAD_SIZE_COOKIE))
            .filter(|size| super::service::Variant::parse(size).is_some()),
    };
    Ok(Some(details))
}

/// A signed download link for one size, valid for 10 minutes.
#[server]
pub async fn download_link(public_id: String, size: String) -> Result<String, AppError> {
    use super::service::{stored_file, Variant};
    use crate::platform::{clock::now_unix, signing, state::app_state};
    let state = app_state();
    let variant = Variant::parse(&size).ok_or_else(|| AppError::field("size", "Choose one of the sizes listed."))?;
    if stored_file(&state.db, &public_id, variant).await?.is_none() {
        return Err(AppError::NotFound);
    }
    // Remembered for next time only when this browser allowed preference cookies.
    if let Some(parts) = crate::platform::request::request_parts() {
        let cookie = crate::features::privacy::service::preference_cookie(
            &state,
            &parts,
            crate::features::privacy::consent::DOWNLOAD_SIZE_COOKIE,
            variant.as_str(),
        );
        if let Some(cookie) = cookie {
            crate::features::accounts::guard::set_response_header(axum::http::header::SET_COOKIE, &cookie)?;
        }
    }
    let path = signing::download_path(
        &state.secret_key,
        &public_id,
        variant.as_str(),
        now_unix() + signing::DOWNLOAD_LINK_SECONDS,
    );
    // A plain form post (no JavaScript yet) is sent straight to the link. A script gets
    // the path and opens it itself: the client router would otherwise try to render
    // `/dl/…` as a page of the app.
    if crate::platform::request::request_parts().is_some_and(|parts| crate::platform::request::wants_html(&parts)) {
        leptos_axum::redirect(&path);
    }
    Ok(path)
}
