//! The image library: browsing newest images and contributors. Types here cross the wire
//! between server functions and the browser.

use serde::{Deserialize, Serialize};

pub mod api;
pub mod image_page;
#[cfg(feature = "ssr")]
pub mod ingest;
#[cfg(feature = "ssr")]
pub mod pipeline;
#[cfg(feature = "ssr")]
pub mod service;
pub mod views;

/// Images per page in grids and per "Show more".
pub const PAGE_SIZE: u32 = 24;
/// Longest search query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 100;

/// What a grid needs to draw one image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageCard {
    pub public_id: String,
    pub title: String,
    pub alt_text: String,
    pub width: u32,
    pub height: u32,
    pub dominant_color: String,
    pub thumb_url: String,
    pub small_url: String,
    pub contributor_name: String,
    pub contributor_slug: String,
}

/// One page of a grid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImagePage {
    pub images: Vec<ImageCard>,
    /// 1-based.
    pub page: u32,
    pub has_more: bool,
}

/// A contributor as listed on /contributors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContributorCard {
    pub slug: String,
    pub name: String,
    pub style: String,
    pub bio: String,
    pub accent_color: String,
    pub image_count: u32,
    pub preview_urls: Vec<String>,
}

/// A link to a contributor, with what the image page's card shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContributorLink {
    pub slug: String,
    pub name: String,
    pub style: String,
    pub accent_color: String,
}

/// A link to a category.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryLink {
    pub slug: String,
    pub name: String,
}

/// One downloadable size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SizeOption {
    /// `thumb`, `small`, `full` or `original`.
    pub variant: String,
    pub label: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
}

/// Everything the image page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageDetails {
    pub public_id: String,
    pub title: String,
    pub description: String,
    pub alt_text: String,
    pub prompt: String,
    pub width: u32,
    pub height: u32,
    pub orientation: String,
    pub dominant_color: String,
    /// A tiny PNG decoded from the BlurHash, as a `data:` URL, shown until the image loads.
    pub placeholder: String,
    /// `(url, width)` for `srcset`, smallest first.
    pub sources: Vec<(String, u32)>,
    pub tags: Vec<String>,
    pub category: Option<CategoryLink>,
    pub contributor: ContributorLink,
    pub view_count: u64,
    pub download_count: u64,
    pub created_at: i64,
    pub sizes: Vec<SizeOption>,
    /// The member's preferred download size, when signed in.
    pub preferred_size: Option<String>,
    pub related: Vec<ImageCard>,
}
