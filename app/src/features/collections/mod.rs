//! Collections: members gather library images into named sets, private or shared by link.
//! Types here cross the wire between server functions and the browser.

use crate::features::library::ImageCard;
use serde::{Deserialize, Serialize};

pub mod api;
#[cfg(feature = "ssr")]
pub mod export;
pub mod export_views;
pub mod save_views;
#[cfg(feature = "ssr")]
pub mod service;
pub mod views;

/// Longest collection name, in characters.
pub const MAX_NAME_CHARS: usize = 80;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// Images per page of a collection.
pub const ITEMS_PAGE_SIZE: u32 = 48;
/// Images one bulk move, copy or removal may name.
pub const MAX_BULK_ITEMS: usize = 500;
/// How long a deleted collection can be restored, in seconds.
pub const UNDO_SECONDS: i64 = 600;

/// How many collections, and images in each, a member may keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub collections: u32,
    pub items_per_collection: u32,
}

impl Limits {
    /// The configured (Free plan) limits, multiplied for a paid plan.
    pub fn scaled(self, factor: u32) -> Self {
        Limits {
            collections: self.collections.saturating_mul(factor),
            items_per_collection: self.items_per_collection.saturating_mul(factor),
        }
    }
}

/// A collection as lists show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionSummary {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub is_public: bool,
    pub item_count: u32,
    /// The cover's thumbnail: the chosen cover, else the first image in the collection's order.
    pub cover: Option<ImageCard>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The order of a collection's images.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ItemSort {
    /// The member's own order (drag and drop, keyboard moves).
    #[default]
    Custom,
    /// Most recently saved first.
    Added,
    /// Earliest saved first.
    Oldest,
    Title,
}

impl ItemSort {
    pub const ALL: [ItemSort; 4] = [ItemSort::Custom, ItemSort::Added, ItemSort::Oldest, ItemSort::Title];

    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "" | "custom" => ItemSort::Custom,
            "added" => ItemSort::Added,
            "oldest" => ItemSort::Oldest,
            "title" => ItemSort::Title,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ItemSort::Custom => "custom",
            ItemSort::Added => "added",
            ItemSort::Oldest => "oldest",
            ItemSort::Title => "title",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ItemSort::Custom => "Collection order",
            ItemSort::Added => "Recently saved",
            ItemSort::Oldest => "First saved",
            ItemSort::Title => "Title",
        }
    }
}

/// What the collection page asks for: which collection, its order, an optional filter on
/// the images' titles and orientation, and the page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ItemsRequest {
    pub slug: String,
    pub sort: String,
    /// Words the titles must contain.
    pub q: String,
    pub orientation: String,
    pub page: u32,
}

/// One page of a collection, with the collection itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionView {
    pub collection: CollectionSummary,
    pub owner_name: String,
    /// Whether the viewer owns it (and so may change it).
    pub is_owner: bool,
    pub items: Vec<ImageCard>,
    pub page: u32,
    pub has_more: bool,
    /// How many images match the filter (the item count when there is none).
    pub matching: u32,
}

/// One of the member's collections in the save picker: does it hold the image?
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveTarget {
    pub slug: String,
    pub name: String,
    pub is_public: bool,
    pub item_count: u32,
    pub contains: bool,
}

/// What a bulk action does with the chosen images.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BulkAction {
    Move,
    Copy,
    Remove,
}

impl BulkAction {
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "move" => BulkAction::Move,
            "copy" => BulkAction::Copy,
            "remove" => BulkAction::Remove,
            _ => return None,
        })
    }
}

/// What a bulk action changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkOutcome {
    /// Images newly in the target collection.
    pub added: u32,
    /// Images the target already held.
    pub already_there: u32,
    /// Images taken out of the source collection.
    pub removed: u32,
}

/// The sizes a collection can be exported at: `(variant, label)`.
pub const EXPORT_SIZES: [(&str, &str); 3] = [
    ("small", "Medium (800 px)"),
    ("full", "Large (2000 px)"),
    ("original", "Original"),
];
/// How long a finished collection export can be downloaded, in seconds.
pub const EXPORT_LIFETIME_SECONDS: i64 = 86_400;

/// Where a collection export stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExportStatus {
    Queued,
    Building,
    Ready,
    Failed,
    /// Its day is over and the file is deleted.
    Expired,
}

impl ExportStatus {
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "queued" => ExportStatus::Queued,
            "building" => ExportStatus::Building,
            "ready" => ExportStatus::Ready,
            "failed" => ExportStatus::Failed,
            "expired" => ExportStatus::Expired,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ExportStatus::Queued => "queued",
            ExportStatus::Building => "building",
            ExportStatus::Ready => "ready",
            ExportStatus::Failed => "failed",
            ExportStatus::Expired => "expired",
        }
    }

    /// Still being made: the page keeps asking how far it got.
    pub fn in_progress(self) -> bool {
        matches!(self, ExportStatus::Queued | ExportStatus::Building)
    }
}

/// One export of a collection, as its owner sees it on the collection page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionExport {
    pub id: i64,
    /// `small`, `full` or `original`: one of [`EXPORT_SIZES`].
    pub variant: String,
    pub with_originals: bool,
    pub status: ExportStatus,
    /// 0 to 100.
    pub progress: u8,
    /// Images in the zip, once it is being built.
    pub item_count: Option<u32>,
    pub size_bytes: Option<u64>,
    /// Why it failed, in words the member can act on.
    pub error: Option<String>,
    pub created_at: i64,
    /// When the download link stops working (set once it is ready).
    pub expires_at: Option<i64>,
    /// The download link, while the export is ready and unexpired.
    pub download_href: Option<String>,
}

/// The label of an export size, or the raw value for an unknown one.
pub fn export_size_label(variant: &str) -> &str {
    EXPORT_SIZES
        .iter()
        .find(|(value, _)| *value == variant)
        .map_or(variant, |(_, label)| label)
}

/// A finished export's download address (served to its owner only, until it expires).
pub fn export_href(slug: &str, export_id: i64) -> String {
    format!("/collections/{slug}/exports/{export_id}")
}

/// A collection's address.
pub fn collection_href(slug: &str) -> String {
    format!("/collections/{slug}")
}
