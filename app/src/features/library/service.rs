//! Library queries (server only). Plain, portable SQL over the `Any` pool.

use super::{
    CategoryLink, CategoryProfile, ContributorCard, ContributorLink, ContributorProfile, ImageCard, ImageDetails,
    ImagePage, SizeOption, Sort, PAGE_SIZE,
};
use crate::platform::{db::Database, media::MediaStore, request, signing::SecretKey};
use axum::http::request::Parts;
use sqlx::{any::AnyRow, Row};

pub(crate) const CARD_COLUMNS: &str = "i.public_id, i.title, i.alt_text, i.width, i.height, i.dominant_color, \
     c.name AS contributor_name, c.slug AS contributor_slug, \
     (SELECT f.storage_key FROM image_files f WHERE f.image_id = i.id AND f.variant = 'thumb') AS thumb_key, \
     (SELECT f.storage_key FROM image_files f WHERE f.image_id = i.id AND f.variant = 'small') AS small_key";

pub(crate) fn card_from_row(row: &AnyRow) -> Result<ImageCard, sqlx::Error> {
    let public_id: String = row.try_get("public_id")?;
    let thumb_key: Option<String> = row.try_get("thumb_key")?;
    let small_key: Option<String> = row.try_get("small_key")?;
    let thumb_url = thumb_key
        .as_deref()
        .map(|key| image_url(&public_id, Variant::Thumb, key))
        .unwrap_or_default();
    let small_url = small_key
        .as_deref()
        .map(|key| image_url(&public_id, Variant::Small, key))
        .unwrap_or_else(|| thumb_url.clone());
    Ok(ImageCard {
        public_id,
        title: row.try_get("title")?,
        alt_text: row.try_get("alt_text")?,
        width: row.try_get::<i64, _>("width")? as u32,
        height: row.try_get::<i64, _>("height")? as u32,
        dominant_color: row.try_get("dominant_color")?,
        thumb_url,
        small_url,
        contributor_name: row.try_get("contributor_name")?,
        contributor_slug: row.try_get("contributor_slug")?,
        title_marks: Vec::new(),
    })
}

/// Which images a grid shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    All,
    Contributor(i64),
    Category(i64),
}

/// `ORDER BY` for a sort; relevance needs a query, so here it falls back to newest.
pub(super) fn order_by(sort: Sort) -> &'static str {
    match sort {
        Sort::Popular => "i.download_count DESC, i.view_count DESC, i.id DESC",
        Sort::Newest | Sort::Relevance => "i.created_at DESC, i.id DESC",
    }
}

/// `OFFSET` of a 1-based page.
pub(super) fn offset_of(page: u32) -> i64 {
    i64::from(page.saturating_sub(1)) * i64::from(PAGE_SIZE)
}

/// Splits `PAGE_SIZE + 1` fetched rows into a page and whether another follows.
pub(super) fn into_page(rows: &[AnyRow], page: u32) -> Result<ImagePage, sqlx::Error> {
    let images = rows
        .iter()
        .take(PAGE_SIZE as usize)
        .map(card_from_row)
        .collect::<Result<_, _>>()?;
    Ok(ImagePage {
        images,
        page,
        has_more: rows.len() > PAGE_SIZE as usize,
    })
}

/// One page of public images in a scope and order; `page` is 1-based.
pub async fn browse(db: &Database, scope: Scope, sort: Sort, page: u32) -> Result<ImagePage, sqlx::Error> {
    let (filter, owner) = match scope {
        Scope::All => ("$1 = 0", 0),
        Scope::Contributor(id) => ("i.contributor_id = $1", id),
        Scope::Category(id) => ("i.category_id = $1", id),
    };
    let sql = format!(
        "SELECT {CARD_COLUMNS} FROM images i JOIN contributors c ON c.id = i.contributor_id \
         WHERE i.visibility = 'public' AND {filter} ORDER BY {} LIMIT $2 OFFSET $3",
        order_by(sort)
    );
    let rows = sqlx::query(&sql)
        .bind(owner)
        .bind(i64::from(PAGE_SIZE) + 1)
        .bind(offset_of(page))
        .fetch_all(db.pool())
        .await?;
    into_page(&rows, page)
}

/// A contributor's header and one page of their newest images, or `None` for an unknown slug.
pub async fn contributor_profile(
    db: &Database,
    slug: &str,
    page: u32,
) -> Result<Option<ContributorProfile>, sqlx::Error> {
    let Some(row) = sqlx::query(
        "SELECT c.id, c.slug, c.name, c.style, c.bio, c.location, c.accent_color, \
                CAST((SELECT COUNT(*) FROM images i WHERE i.contributor_id = c.id AND i.visibility = 'public') AS BIGINT) AS image_count \
         FROM contributors c WHERE c.slug = $1",
    )
    .bind(slug)
    .fetch_optional(db.pool())
    .await?
    else {
        return Ok(None);
    };
    let id: i64 = row.try_get("id")?;
    Ok(Some(ContributorProfile {
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        style: row.try_get("style")?,
        bio: row.try_get("bio")?,
        location: row.try_get("location")?,
        accent_color: row.try_get("accent_color")?,
        image_count: row.try_get::<i64, _>("image_count")?.max(0) as u32,
        images: browse(db, Scope::Contributor(id), Sort::Newest, page).await?,
    }))
}

/// A category's header and one page of its newest images, or `None` for an unknown slug.
pub async fn category_profile(db: &Database, slug: &str, page: u32) -> Result<Option<CategoryProfile>, sqlx::Error> {
    let Some(row) = sqlx::query(
        "SELECT k.id, k.slug, k.name, k.description, \
                CAST((SELECT COUNT(*) FROM images i WHERE i.category_id = k.id AND i.visibility = 'public') AS BIGINT) AS image_count \
         FROM categories k WHERE k.slug = $1",
    )
    .bind(slug)
    .fetch_optional(db.pool())
    .await?
    else {
        return Ok(None);
    };
    let id: i64 = row.try_get("id")?;
    Ok(Some(CategoryProfile {
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        image_count: row.try_get::<i64, _>("image_count")?.max(0) as u32,
        images: browse(db, Scope::Category(id), Sort::Newest, page).await?,
    }))
}

/// All contributors, most prolific first, each with up to three preview thumbnails.
pub async fn contributors(db: &Database) -> Result<Vec<ContributorCard>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT c.id, c.slug, c.name, c.style, c.bio, c.accent_color, \
                CAST((SELECT COUNT(*) FROM images i WHERE i.contributor_id = c.id AND i.visibility = 'public') AS BIGINT) AS image_count \
         FROM contributors c ORDER BY image_count DESC, c.name",
    )
    .fetch_all(db.pool())
    .await?;
    let previews = sqlx::query(
        "SELECT i.contributor_id, f.storage_key FROM images i \
         JOIN image_files f ON f.image_id = i.id AND f.variant = 'thumb' \
         WHERE i.visibility = 'public' ORDER BY i.contributor_id, i.created_at DESC, i.id DESC",
    )
    .fetch_all(db.pool())
    .await?;
    let mut by_contributor: std::collections::HashMap<i64, Vec<String>> = Default::default();
    for row in &previews {
        let list = by_contributor.entry(row.try_get("contributor_id")?).or_default();
        if list.len() < 3 {
            list.push(MediaStore::url_for(&row.try_get::<String, _>("storage_key")?));
        }
    }
    rows.iter()
        .map(|row| {
            let id: i64 = row.try_get("id")?;
            Ok(ContributorCard {
                slug: row.try_get("slug")?,
                name: row.try_get("name")?,
                style: row.try_get("style")?,
                bio: row.try_get("bio")?,
                accent_color: row.try_get("accent_color")?,
                image_count: row.try_get::<i64, _>("image_count")? as u32,
                preview_urls: by_contributor.remove(&id).unwrap_or_default(),
            })
        })
        .collect()
}

/// One of an image's stored sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    Thumb,
    Small,
    Full,
    Original,
}

impl Variant {
    pub const ALL: [Variant; 4] = [Variant::Thumb, Variant::Small, Variant::Full, Variant::Original];

    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "thumb" => Variant::Thumb,
            "small" => Variant::Small,
            "full" => Variant::Full,
            "original" => Variant::Original,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Thumb => "thumb",
            Variant::Small => "small",
            Variant::Full => "full",
            Variant::Original => "original",
        }
    }
}

/// The content hash inside a storage key (`ab/cd/<sha256>.<ext>`).
fn key_hash(storage_key: &str) -> &str {
    let name = storage_key.rsplit('/').next().unwrap_or(storage_key);
    name.split('.').next().unwrap_or(name)
}

/// `/img/{id}/{variant}?v=<first 12 hex of the content hash>`: the URL pages use, cached
/// as immutable because it changes when the bytes do.
pub fn image_url(public_id: &str, variant: Variant, storage_key: &str) -> String {
    let hash = key_hash(storage_key);
    format!(
        "/img/{public_id}/{}?v={}",
        variant.as_str(),
        &hash[..hash.len().min(12)]
    )
}

/// A stored file of a public image, as the image and download routes serve it.
#[derive(Clone, Debug)]
pub struct StoredFile {
    pub image_id: i64,
    pub title: String,
    pub storage_key: String,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
}

impl StoredFile {
    /// Strong ETag: the SHA-256 of the bytes.
    pub fn etag(&self) -> String {
        format!("\"{}\"", key_hash(&self.storage_key))
    }

    /// What `?v=` must be for the URL to count as content-hashed.
    pub fn version(&self) -> &str {
        let hash = key_hash(&self.storage_key);
        &hash[..hash.len().min(12)]
    }

    /// `amber-dunes-ab12cd34-2000x1333.webp`: the title as a slug, the id and the size.
    pub fn download_name(&self) -> String {
        let mut slug = String::new();
        for c in self.title.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.ends_with('-') && !slug.is_empty() {
                slug.push('-');
            }
            if slug.len() >= 60 {
                break;
            }
        }
        let slug = slug.trim_end_matches('-');
        let extension = self.storage_key.rsplit('.').next().unwrap_or("bin");
        let id = key_hash(&self.storage_key);
        let id = &id[..id.len().min(8)];
        if slug.is_empty() {
            format!("atelier-{id}-{}x{}.{extension}", self.width, self.height)
        } else {
            format!("{slug}-{id}-{}x{}.{extension}", self.width, self.height)
        }
    }
}

/// Whether `id` has the shape of an image's public id (1–32 ASCII letters and digits). Any
/// other text names no image and is answered "not found" before it reaches the database
/// (PostgreSQL refuses text with a NUL in it outright).
pub fn is_public_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The file of one size of a public image.
pub async fn stored_file(db: &Database, public_id: &str, variant: Variant) -> Result<Option<StoredFile>, sqlx::Error> {
    if !is_public_id(public_id) {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT i.id, i.title, f.storage_key, f.content_type, f.width, f.height FROM images i \
         JOIN image_files f ON f.image_id = i.id AND f.variant = $2 \
         WHERE i.public_id = $1 AND i.visibility = 'public'",
    )
    .bind(public_id)
    .bind(variant.as_str())
    .fetch_optional(db.pool())
    .await?;
    row.map(|row| {
        Ok(StoredFile {
            image_id: row.try_get("id")?,
            title: row.try_get("title")?,
            storage_key: row.try_get("storage_key")?,
            content_type: row.try_get("content_type")?,
            width: row.try_get::<i64, _>("width")? as u32,
            height: row.try_get::<i64, _>("height")? as u32,
        })
    })
    .transpose()
}

/// Counts one request for an image from a page on another site: domain and day only.
pub async fn record_hotlink(db: &Database, image_id: i64, domain: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO image_hotlinks (image_id, domain, day, requests) VALUES ($1, $2, $3, 1) \
         ON CONFLICT (image_id, domain, day) DO UPDATE SET requests = image_hotlinks.requests + 1",
    )
    .bind(image_id)
    .bind(domain)
    .bind(crate::dates::iso_day(now))
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Who is asking, for counting views and downloads once per visitor, image and day without
/// a cookie: a keyed hash of the client address, the browser and the UTC day, so it cannot
/// be reversed and changes daily. `purpose` keeps view and download keys apart.
pub fn visitor_key(key: &SecretKey, parts: &Parts, purpose: &str, now: i64) -> String {
    let address = request::client_ip(parts).map(|ip| ip.to_string()).unwrap_or_default();
    let browser = request::user_agent(parts).unwrap_or_default();
    let day = (now / 86_400).to_string();
    key.pseudonym(purpose, &[&day, &address, &browser])
}

/// What a visitor-day row records: one per visitor, image and day, kept for that day only.
#[derive(Clone, Copy)]
enum VisitorDay {
    View,
    Download,
}

/// Writes the visitor's row for today; returns whether it is their first of the day (a
/// repeat writes nothing).
async fn first_time_today(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    kind: VisitorDay,
    image_id: i64,
    visitor: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let sql = match kind {
        VisitorDay::View => {
            "INSERT INTO image_views (image_id, visitor, day) VALUES ($1, $2, $3) \
             ON CONFLICT (image_id, visitor, day) DO NOTHING"
        }
        VisitorDay::Download => {
            "INSERT INTO download_visitors (image_id, visitor, day) VALUES ($1, $2, $3) \
             ON CONFLICT (image_id, visitor, day) DO NOTHING"
        }
    };
    let inserted = sqlx::query(sql)
        .bind(image_id)
        .bind(visitor)
        .bind(crate::dates::iso_day(now))
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(inserted == 1)
}

/// Counts a download at most once per visitor, image and day (`visitor` is
/// [`visitor_key`]'s), so fresh signed links do not add to the count, and once per link
/// (`link_token` is unique to image, size and expiry; only its SHA-256 is kept), so a
/// shared link is not counted again for whoever follows it. Returns whether this call
/// counted it; when it did not, it wrote nothing.
pub async fn record_download(
    db: &Database,
    image_id: i64,
    user_id: Option<i64>,
    variant: Variant,
    link_token: &str,
    visitor: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    use sha2::{Digest, Sha256};
    let link_hash = hex::encode(Sha256::digest(link_token.as_bytes()));
    let mut tx = db.pool().begin().await?;
    // The visitor's row first: concurrent downloads by one visitor meet on its key (the
    // second waits for the first to commit, then finds it), so only one of them counts.
    if !first_time_today(&mut tx, VisitorDay::Download, image_id, visitor, now).await? {
        return Ok(false);
    }
    let new_link = sqlx::query(
        "INSERT INTO download_events (image_id, user_id, variant, link_hash, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (link_hash) DO NOTHING",
    )
    .bind(image_id)
    .bind(user_id)
    .bind(variant.as_str())
    .bind(link_hash)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !new_link {
        // Dropping the transaction takes the visitor's row back too: a link of their own
        // later today still counts.
        return Ok(false);
    }
    sqlx::query("UPDATE images SET download_count = download_count + 1 WHERE id = $1")
        .bind(image_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Counts a view once per visitor per image per day. `visitor` is a keyed hash of the
/// visitor's address and browser that changes every day (no cookie is involved).
pub async fn record_view(db: &Database, image_id: i64, visitor: &str, now: i64) -> Result<bool, sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    let inserted = first_time_today(&mut tx, VisitorDay::View, image_id, visitor, now).await?;
    if inserted {
        sqlx::query("UPDATE images SET view_count = view_count + 1 WHERE id = $1")
            .bind(image_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(inserted)
}

/// Removes view and download de-duplication rows from before yesterday: they only matter
/// on their day.
pub async fn purge_old_views(db: &Database, now: i64) -> Result<u64, sqlx::Error> {
    let yesterday = crate::dates::iso_day(now - 86_400);
    let mut purged = 0;
    for sql in [
        "DELETE FROM image_views WHERE day < $1",
        "DELETE FROM download_visitors WHERE day < $1",
    ] {
        purged += sqlx::query(sql)
            .bind(&yesterday)
            .execute(db.pool())
            .await?
            .rows_affected();
    }
    Ok(purged)
}

/// Everything the image page needs, or `None` for an unknown or hidden image.
pub async fn image_details(db: &Database, public_id: &str) -> Result<Option<(i64, ImageDetails)>, sqlx::Error> {
    if !is_public_id(public_id) {
        return Ok(None);
    }
    let Some(row) = sqlx::query(
        "SELECT i.id, i.public_id, i.title, i.description, i.alt_text, i.prompt, i.width, i.height, i.orientation, \
                i.dominant_color, i.blurhash, i.view_count, i.download_count, i.created_at, i.category_id, i.contributor_id, \
                c.slug AS contributor_slug, c.name AS contributor_name, c.style AS contributor_style, \
                c.accent_color AS contributor_accent, k.slug AS category_slug, k.name AS category_name \
         FROM images i JOIN contributors c ON c.id = i.contributor_id LEFT JOIN categories k ON k.id = i.category_id \
         WHERE i.public_id = $1 AND i.visibility = 'public'",
    )
    .bind(public_id)
    .fetch_optional(db.pool())
    .await?
    else {
        return Ok(None);
    };
    let id: i64 = row.try_get("id")?;
    let files =
        sqlx::query("SELECT variant, storage_key, width, height, byte_size FROM image_files WHERE image_id = $1")
            .bind(id)
            .fetch_all(db.pool())
            .await?;
    let mut sources = Vec::new();
    let mut sizes = Vec::new();
    for variant in Variant::ALL {
        let Some(file) = files
            .iter()
            .find(|file| file.try_get::<String, _>("variant").ok().as_deref() == Some(variant.as_str()))
        else {
            continue;
        };
        let key: String = file.try_get("storage_key")?;
        let width = file.try_get::<i64, _>("width")? as u32;
        let height = file.try_get::<i64, _>("height")? as u32;
        if variant != Variant::Original {
            sources.push((image_url(public_id, variant, &key), width));
        }
        let label = match variant {
            Variant::Thumb => "Small",
            Variant::Small => "Medium",
            Variant::Full => "Large",
            Variant::Original => "Original",
        };
        sizes.push(SizeOption {
            variant: variant.as_str().to_owned(),
            label: label.to_owned(),
            width,
            height,
            bytes: file.try_get::<i64, _>("byte_size")?.max(0) as u64,
        });
    }
    let tags = sqlx::query_scalar("SELECT tag FROM image_tags WHERE image_id = $1 ORDER BY tag")
        .bind(id)
        .fetch_all(db.pool())
        .await?;
    let category = match row.try_get::<Option<String>, _>("category_slug")? {
        Some(slug) => Some(CategoryLink {
            slug,
            name: row.try_get("category_name")?,
        }),
        None => None,
    };
    let width = row.try_get::<i64, _>("width")? as u32;
    let height = row.try_get::<i64, _>("height")? as u32;
    let blurhash: String = row.try_get("blurhash")?;
    let details = ImageDetails {
        public_id: row.try_get("public_id")?,
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        alt_text: row.try_get("alt_text")?,
        prompt: row.try_get("prompt")?,
        width,
        height,
        orientation: row.try_get("orientation")?,
        dominant_color: row.try_get("dominant_color")?,
        placeholder: placeholder_data_url(&blurhash, width, height).unwrap_or_default(),
        sources,
        tags,
        category,
        contributor: ContributorLink {
            slug: row.try_get("contributor_slug")?,
            name: row.try_get("contributor_name")?,
            style: row.try_get("contributor_style")?,
            accent_color: row.try_get("contributor_accent")?,
        },
        view_count: row.try_get::<i64, _>("view_count")?.max(0) as u64,
        download_count: row.try_get::<i64, _>("download_count")?.max(0) as u64,
        created_at: row.try_get("created_at")?,
        sizes,
        preferred_size: None,
        related: related(db, id, row.try_get("contributor_id")?, row.try_get("category_id")?).await?,
    };
    Ok(Some((id, details)))
}

/// Up to 8 other public images: same category or contributor first, newest first.
async fn related(
    db: &Database,
    id: i64,
    contributor_id: i64,
    category_id: Option<i64>,
) -> Result<Vec<ImageCard>, sqlx::Error> {
    let sql = format!(
        "SELECT {CARD_COLUMNS} FROM images i JOIN contributors c ON c.id = i.contributor_id \
         WHERE i.visibility = 'public' AND i.id <> $1 AND (i.category_id = $2 OR i.contributor_id = $3) \
         ORDER BY CASE WHEN i.category_id = $2 AND i.contributor_id = $3 THEN 0 ELSE 1 END, i.created_at DESC, i.id DESC \
         LIMIT 8"
    );
    let rows = sqlx::query(&sql)
        .bind(id)
        .bind(category_id.unwrap_or(-1))
        .bind(contributor_id)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(card_from_row).collect()
}

/// A 32-pixel-wide PNG of the BlurHash, scaled to the image's aspect ratio, as a data URL
/// (a few hundred bytes; the browser stretches and the CSS blurs it).
fn placeholder_data_url(blurhash: &str, width: u32, height: u32) -> Option<String> {
    use base64::Engine;
    let w = 32u32;
    let h = ((32 * height) / width.max(1)).clamp(8, 64);
    let pixels = blurhash::decode(blurhash, w, h, 1.0).ok()?;
    let image = image::RgbaImage::from_raw(w, h, pixels)?;
    let mut png = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .ok()?;
    Some(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    ))
}
