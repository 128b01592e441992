//! The image library: browsing, search, contributors and categories. Types here cross the
//! wire between server functions and the browser.

use serde::{Deserialize, Serialize};

pub mod api;
#[cfg(feature = "ssr")]
pub mod facets;
pub mod feed;
pub mod image_page;
#[cfg(feature = "ssr")]
pub mod ingest;
#[cfg(feature = "ssr")]
pub mod pipeline;
pub mod profile_views;
#[cfg(feature = "ssr")]
pub mod search;
pub mod search_views;
#[cfg(feature = "ssr")]
pub mod service;
pub mod views;

/// The licence every library image is under, as the terms and collection exports state it.
pub const LICENCE_NAME: &str = "Atelier licence";
pub const LICENCE_TERMS: &str = "Every image in the library is free to use, for anything, commercial use included. No attribution is needed, though it is always welcome. You may not sell an unaltered image as it is (as a print or on a stock site), or suggest that a person or brand endorses something when they do not.";
/// Where the terms state the licence: `/terms#licence`.
pub const LICENCE_ANCHOR: &str = "licence";

/// Images per page in grids and per "Show more".
pub const PAGE_SIZE: u32 = 24;
/// Longest search query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 100;
/// Pages beyond this are refused: nobody pages that far, and deep offsets are slow.
pub const MAX_PAGE: u32 = 1_000;

/// The colour families the colour filter offers: `(value, label, swatch)`.
pub const COLOR_FAMILIES: [(&str, &str, &str); 12] = [
    ("red", "Red", "#dc2626"),
    ("orange", "Orange", "#ea7a1a"),
    ("yellow", "Yellow", "#eab308"),
    ("green", "Green", "#16a34a"),
    ("teal", "Teal", "#0d9488"),
    ("blue", "Blue", "#2563eb"),
    ("purple", "Purple", "#7c3aed"),
    ("pink", "Pink", "#db2777"),
    ("brown", "Brown", "#8b5a2b"),
    ("black", "Black", "#111111"),
    ("gray", "Gray", "#8a8a8a"),
    ("white", "White", "#f5f5f5"),
];

/// The orientations the filter offers: `(value, label)`.
pub const ORIENTATIONS: [(&str, &str); 3] = [
    ("landscape", "Landscape"),
    ("portrait", "Portrait"),
    ("square", "Square"),
];

/// The order of a grid. `Relevance` only means something with a search query.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sort {
    #[default]
    Relevance,
    /// Publication order, newest first. An image is dated when it is added (`ingest`), so
    /// image ids follow publication order: grids sort by `created_at` (their indexes),
    /// and a search with words by the index's own id order, which FTS5 can read
    /// backwards and stop after a page. The demo's back-dated history keeps to it (dates
    /// are spread in id order after seeding).
    Newest,
    Popular,
}

impl Sort {
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "relevance" => Sort::Relevance,
            "newest" => Sort::Newest,
            "popular" => Sort::Popular,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Relevance => "relevance",
            Sort::Newest => "newest",
            Sort::Popular => "popular",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Sort::Relevance => "Most relevant",
            Sort::Newest => "Newest",
            Sort::Popular => "Most downloaded",
        }
    }
}

/// What `/search` was asked for, exactly as the query string says it (empty = not set).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SearchRequest {
    pub q: String,
    pub orientation: String,
    pub contributor: String,
    pub category: String,
    pub color: String,
    pub sort: String,
    pub page: u32,
}

impl SearchRequest {
    /// Whether any filter (not the words) narrows the results.
    pub fn has_filters(&self) -> bool {
        !(self.orientation.is_empty()
            && self.contributor.is_empty()
            && self.category.is_empty()
            && self.color.is_empty())
    }

    /// The `/search?…` address of this request at another page (`page` 1 is left out).
    pub fn href(&self, page: u32) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        for (name, value) in [
            ("q", &self.q),
            ("orientation", &self.orientation),
            ("contributor", &self.contributor),
            ("category", &self.category),
            ("color", &self.color),
            ("sort", &self.sort),
        ] {
            if !value.is_empty() {
                pairs.push((name, value.clone()));
            }
        }
        if page > 1 {
            pairs.push(("page", page.to_string()));
        }
        let query: Vec<String> = pairs
            .into_iter()
            .map(|(name, value)| format!("{name}={}", encode_query_value(&value)))
            .collect();
        if query.is_empty() {
            "/search".to_owned()
        } else {
            format!("/search?{}", query.join("&"))
        }
    }
}

/// Percent-encodes a query value (letters, digits and `-._~` stay as they are).
pub fn encode_query_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            b' ' => "+".to_owned(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A slug and a display name: a filter choice or a link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub slug: String,
    pub name: String,
}

/// One page of search results, with what the filter bar offers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResults {
    pub images: ImagePage,
    /// The words actually searched when the query as typed matched nothing (“did you mean”).
    pub corrected: Option<String>,
    pub contributors: Vec<Choice>,
    pub categories: Vec<Choice>,
}

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
    /// The title in runs, `true` where a search word matched; empty outside search.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub title_marks: Vec<(String, bool)>,
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
pub type CategoryLink = Choice;

/// `/contributors/{slug}`: who they are, then their images.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContributorProfile {
    pub slug: String,
    pub name: String,
    pub style: String,
    pub bio: String,
    pub location: Option<String>,
    pub accent_color: String,
    pub image_count: u32,
    pub images: ImagePage,
}

/// `/categories/{slug}`: what the category holds, then its images.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryProfile {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub image_count: u32,
    pub images: ImagePage,
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
