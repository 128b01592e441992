//! Collections' rules and SQL (server only). Every function takes the acting member, or the
//! viewer, and checks it here, so server functions, the REST API and jobs share one set of
//! rules. Each change to a collection starts by touching its row, which both databases
//! then hold locked until the change commits: concurrent changes to one collection happen
//! one after another, and limits cannot be overrun by two requests at once.

use super::{
    BulkAction, BulkOutcome, CollectionSummary, CollectionView, ItemSort, ItemsRequest, Limits, SaveTarget,
    ITEMS_PAGE_SIZE, MAX_BULK_ITEMS, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, UNDO_SECONDS,
};
use crate::{
    error::AppError,
    features::library::{
        service::{card_from_row, CARD_COLUMNS},
        ImageCard,
    },
    platform::db::{Backend, Database},
};
use sqlx::{any::AnyRow, Any, AnyConnection, Row, Transaction};
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum CollectionError {
    /// Unknown, deleted, or private and not the viewer's.
    #[error("no such collection")]
    NotFound,
    /// Visible to the viewer but not theirs to change.
    #[error("not the owner")]
    Forbidden,
    #[error("{message}")]
    Invalid { field: &'static str, message: String },
    /// Refused by a limit or a rule; the message says which and what to do.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<CollectionError> for AppError {
    fn from(error: CollectionError) -> Self {
        match error {
            CollectionError::NotFound => AppError::NotFound,
            CollectionError::Forbidden => AppError::Forbidden,
            CollectionError::Invalid { field, message } => AppError::field(field, message),
            CollectionError::Refused(message) => AppError::Invalid(message),
            CollectionError::Database(error) => error.into(),
        }
    }
}

type Result<T> = std::result::Result<T, CollectionError>;

fn invalid(field: &'static str, message: impl Into<String>) -> CollectionError {
    CollectionError::Invalid {
        field,
        message: message.into(),
    }
}

/// A name as stored: trimmed, inner runs of spaces collapsed, 1 to [`MAX_NAME_CHARS`].
pub fn clean_name(raw: &str) -> Result<String> {
    let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        return Err(invalid("name", "Give the collection a name."));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(
            "name",
            format!("Use at most {MAX_NAME_CHARS} characters for the name."),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("name", "The name cannot contain control characters."));
    }
    Ok(name)
}

/// A description as stored: trimmed, at most [`MAX_DESCRIPTION_CHARS`]; line breaks kept.
pub fn clean_description(raw: &str) -> Result<String> {
    let description = raw.trim().replace("\r\n", "\n");
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(invalid(
            "description",
            format!("Use at most {MAX_DESCRIPTION_CHARS} characters for the description."),
        ));
    }
    if description.chars().any(|c| c.is_control() && c != '\n') {
        return Err(invalid(
            "description",
            "The description cannot contain control characters.",
        ));
    }
    Ok(description)
}

/// `/collections/{slug}`: up to six of the name's words, then six random characters.
fn new_slug(name: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let words = crate::features::privacy::member_data::slug(name);
    let words: String = words.split('-').take(6).collect::<Vec<_>>().join("-");
    let tail: String = (0..6)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect();
    if words.is_empty() {
        tail
    } else {
        format!("{words}-{tail}")
    }
}

/// Takes the member's row lock on PostgreSQL, so two creations at once count each other.
/// SQLite needs none: the one statement that checks the limit and inserts holds its write
/// lock throughout.
async fn lock_member(tx: &mut Transaction<'_, Any>, backend: Backend, user_id: i64) -> Result<()> {
    if backend == Backend::Postgres {
        crate::platform::db::lock_member(tx, backend, user_id).await?;
    }
    Ok(())
}

/// Creates a collection for `owner` unless they hold `limits.collections` already.
pub async fn create(
    db: &Database,
    owner: i64,
    name: &str,
    description: &str,
    is_public: bool,
    limits: Limits,
    now: i64,
) -> Result<String> {
    let name = clean_name(name)?;
    let description = clean_description(description)?;
    let slug = new_slug(&name);
    let mut tx = db.pool().begin().await?;
    lock_member(&mut tx, db.backend(), owner).await?;
    let inserted = sqlx::query(
        "INSERT INTO collections (user_id, slug, name, description, is_public, created_at, updated_at) \
         SELECT $1, $2, $3, $4, $5, $6, $6 \
         WHERE (SELECT COUNT(*) FROM collections WHERE user_id = $1 AND deleted_at IS NULL) < $7",
    )
    .bind(owner)
    .bind(&slug)
    .bind(&name)
    .bind(&description)
    .bind(i64::from(is_public))
    .bind(now)
    .bind(i64::from(limits.collections))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(CollectionError::Refused(format!(
            "You have {} collections, the most your plan allows. Delete one to make another.",
            limits.collections
        )));
    }
    tx.commit().await?;
    Ok(slug)
}

/// The collection `slug` if `owner` owns it (and it is not deleted), touched and locked
/// inside `tx`: `Forbidden` when it is someone else's public collection, else `NotFound`.
async fn lock_owned(tx: &mut Transaction<'_, Any>, owner: i64, slug: &str, now: i64) -> Result<i64> {
    let id: Option<i64> = sqlx::query_scalar(
        "UPDATE collections SET updated_at = $3 WHERE slug = $1 AND user_id = $2 AND deleted_at IS NULL RETURNING id",
    )
    .bind(slug)
    .bind(owner)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    match id {
        Some(id) => Ok(id),
        None => Err(not_owned(tx, slug).await),
    }
}

/// The collection `slug` if `owner` owns it (and it is not deleted), read without changing
/// it; the same refusals as [`lock_owned`].
pub(super) async fn owned(conn: &mut AnyConnection, owner: i64, slug: &str) -> Result<i64> {
    let id: Option<i64> =
        sqlx::query_scalar("SELECT id FROM collections WHERE slug = $1 AND user_id = $2 AND deleted_at IS NULL")
            .bind(slug)
            .bind(owner)
            .fetch_optional(&mut *conn)
            .await?;
    match id {
        Some(id) => Ok(id),
        None => Err(not_owned(conn, slug).await),
    }
}

/// Why a collection the member does not own cannot be changed: someone else's public one
/// is `Forbidden`; a private, deleted or unknown one does not exist for them.
async fn not_owned(conn: &mut AnyConnection, slug: &str) -> CollectionError {
    let public: std::result::Result<Option<i64>, sqlx::Error> =
        sqlx::query_scalar("SELECT is_public FROM collections WHERE slug = $1 AND deleted_at IS NULL")
            .bind(slug)
            .fetch_optional(conn)
            .await;
    match public {
        Ok(Some(1)) => CollectionError::Forbidden,
        Ok(_) => CollectionError::NotFound,
        Err(error) => error.into(),
    }
}

/// Renames, re-describes or changes the visibility of the owner's collection.
pub async fn update(
    db: &Database,
    owner: i64,
    slug: &str,
    name: &str,
    description: &str,
    is_public: bool,
    now: i64,
) -> Result<()> {
    let name = clean_name(name)?;
    let description = clean_description(description)?;
    let mut tx = db.pool().begin().await?;
    let id = lock_owned(&mut tx, owner, slug, now).await?;
    sqlx::query("UPDATE collections SET name = $2, description = $3, is_public = $4 WHERE id = $1")
        .bind(id)
        .bind(&name)
        .bind(&description)
        .bind(i64::from(is_public))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes the owner's collection; [`restore`] brings it back within [`UNDO_SECONDS`].
pub async fn delete(db: &Database, owner: i64, slug: &str, now: i64) -> Result<()> {
    let mut tx = db.pool().begin().await?;
    let id = lock_owned(&mut tx, owner, slug, now).await?;
    sqlx::query("UPDATE collections SET deleted_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Undoes [`delete`] while the undo window is open; afterwards the collection is gone.
/// A restored collection counts against the limit again, so it may be refused.
pub async fn restore(db: &Database, owner: i64, slug: &str, limits: Limits, now: i64) -> Result<()> {
    let mut tx = db.pool().begin().await?;
    lock_member(&mut tx, db.backend(), owner).await?;
    let restored = sqlx::query(
        "UPDATE collections SET deleted_at = NULL, updated_at = $3 \
         WHERE slug = $1 AND user_id = $2 AND deleted_at IS NOT NULL AND deleted_at > $4 \
         AND (SELECT COUNT(*) FROM collections WHERE user_id = $2 AND deleted_at IS NULL) < $5",
    )
    .bind(slug)
    .bind(owner)
    .bind(now)
    .bind(now - UNDO_SECONDS)
    .bind(i64::from(limits.collections))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if restored == 0 {
        let waiting: Option<i64> = sqlx::query_scalar(
            "SELECT deleted_at FROM collections WHERE slug = $1 AND user_id = $2 AND deleted_at > $3",
        )
        .bind(slug)
        .bind(owner)
        .bind(now - UNDO_SECONDS)
        .fetch_optional(&mut *tx)
        .await?;
        return Err(match waiting {
            Some(_) => CollectionError::Refused(format!(
                "You have {} collections, the most your plan allows, so this one cannot come back.",
                limits.collections
            )),
            None => CollectionError::NotFound,
        });
    }
    tx.commit().await?;
    Ok(())
}

/// Removes for good the collections deleted more than [`UNDO_SECONDS`] ago (their items go
/// with them through the foreign key). Run by the maintenance loop.
pub async fn purge_deleted(db: &Database, now: i64) -> std::result::Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM collections WHERE deleted_at IS NOT NULL AND deleted_at <= $1")
            .bind(now - UNDO_SECONDS)
            .execute(db.pool())
            .await?
            .rows_affected(),
    )
}

/// The internal id of a public library image.
async fn public_image(conn: &mut AnyConnection, public_id: &str) -> Result<i64> {
    sqlx::query_scalar("SELECT id FROM images WHERE public_id = $1 AND visibility = 'public'")
        .bind(public_id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| invalid("image", "That image is not in the library any more."))
}

/// Puts images at the top of a locked collection, skipping those it holds already and
/// refusing the whole batch when it would pass the limit. Returns how many were new.
async fn insert_items(
    tx: &mut Transaction<'_, Any>,
    collection_id: i64,
    owner: i64,
    image_ids: &[i64],
    limits: Limits,
    now: i64,
) -> Result<(u32, u32)> {
    // What the collection holds (at most the item limit), and where its top is.
    let held = sqlx::query("SELECT image_id, position FROM collection_items WHERE collection_id = $1")
        .bind(collection_id)
        .fetch_all(&mut **tx)
        .await?;
    let mut top = 0;
    let mut seen = std::collections::HashSet::with_capacity(held.len() + image_ids.len());
    for row in &held {
        seen.insert(row.try_get::<i64, _>("image_id")?);
        top = top.min(row.try_get::<i64, _>("position")?);
    }
    let new_ids: Vec<i64> = image_ids.iter().copied().filter(|id| seen.insert(*id)).collect();
    if held.len() + new_ids.len() > limits.items_per_collection as usize {
        return Err(CollectionError::Refused(format!(
            "A collection holds at most {} images on your plan. Remove some, or start another collection.",
            limits.items_per_collection
        )));
    }
    // The first of the batch ends up first, as it was chosen. Rows go in batches of 200:
    // one statement each, well inside SQLite's limit on bound values.
    let first_position = top - new_ids.len() as i64;
    for (batch_index, batch) in new_ids.chunks(200).enumerate() {
        let rows = (0..batch.len())
            .map(|n| format!("($1, ${}, $2, ${}, $3)", 4 + 2 * n, 5 + 2 * n))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO collection_items (collection_id, image_id, user_id, position, added_at) VALUES {rows} \
             ON CONFLICT (collection_id, image_id) DO NOTHING"
        );
        let mut query = sqlx::query(&sql).bind(collection_id).bind(owner).bind(now);
        for (n, image_id) in batch.iter().enumerate() {
            query = query
                .bind(*image_id)
                .bind(first_position + (batch_index * 200 + n) as i64);
        }
        query.execute(&mut **tx).await?;
    }
    Ok((new_ids.len() as u32, (image_ids.len() - new_ids.len()) as u32))
}

/// Saves a library image in the owner's collection. Saving it twice, even at the same
/// moment, leaves one entry. Returns whether it was new there.
pub async fn add_item(
    db: &Database,
    owner: i64,
    slug: &str,
    public_id: &str,
    limits: Limits,
    now: i64,
) -> Result<bool> {
    let mut tx = db.pool().begin().await?;
    let collection_id = lock_owned(&mut tx, owner, slug, now).await?;
    let image_id = public_image(&mut tx, public_id).await?;
    let (added, _) = insert_items(&mut tx, collection_id, owner, &[image_id], limits, now).await?;
    tx.commit().await?;
    Ok(added == 1)
}

/// Creates a collection and saves an image in it, in one step (the save picker's "new
/// collection"). Returns the new slug.
pub async fn create_with_item(
    db: &Database,
    owner: i64,
    name: &str,
    public_id: &str,
    limits: Limits,
    now: i64,
) -> Result<String> {
    // Checked first, so a gone image does not leave an empty collection behind.
    public_image(&mut *db.pool().acquire().await?, public_id).await?;
    let slug = create(db, owner, name, "", false, limits, now).await?;
    add_item(db, owner, &slug, public_id, limits, now).await?;
    Ok(slug)
}

/// Takes an image out of the owner's collection. Returns whether it was there.
pub async fn remove_item(db: &Database, owner: i64, slug: &str, public_id: &str, now: i64) -> Result<bool> {
    let mut tx = db.pool().begin().await?;
    let collection_id = lock_owned(&mut tx, owner, slug, now).await?;
    let removed = sqlx::query(
        "DELETE FROM collection_items WHERE collection_id = $1 \
         AND image_id = (SELECT id FROM images WHERE public_id = $2)",
    )
    .bind(collection_id)
    .bind(public_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(removed > 0)
}

/// Moves one image to `to_index` (0-based) in the owner's order; past the end means last.
/// Only the rows whose place changed are written.
pub async fn move_item(db: &Database, owner: i64, slug: &str, public_id: &str, to_index: u32, now: i64) -> Result<()> {
    let mut tx = db.pool().begin().await?;
    let collection_id = lock_owned(&mut tx, owner, slug, now).await?;
    let rows = sqlx::query(
        "SELECT ci.image_id, ci.position, i.public_id FROM collection_items ci JOIN images i ON i.id = ci.image_id \
         WHERE ci.collection_id = $1 ORDER BY ci.position, ci.image_id",
    )
    .bind(collection_id)
    .fetch_all(&mut *tx)
    .await?;
    let mut order: Vec<(i64, i64)> = Vec::with_capacity(rows.len());
    let mut from = None;
    for (index, row) in rows.iter().enumerate() {
        let id: String = row.try_get(2)?;
        if id == public_id {
            from = Some(index);
        }
        order.push((row.try_get(0)?, row.try_get(1)?));
    }
    let from = from.ok_or_else(|| invalid("image", "That image is not in this collection."))?;
    let moved = order.remove(from);
    let to = (to_index as usize).min(order.len());
    order.insert(to, moved);
    for (index, (image_id, position)) in order.iter().enumerate() {
        if *position != index as i64 {
            sqlx::query("UPDATE collection_items SET position = $3 WHERE collection_id = $1 AND image_id = $2")
                .bind(collection_id)
                .bind(image_id)
                .bind(index as i64)
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// One bulk change: what to do with which images, and where they go (move and copy).
pub struct BulkChange<'a> {
    pub action: BulkAction,
    pub public_ids: &'a [String],
    pub target: Option<&'a str>,
}

/// Moves, copies or removes many images of the owner's collection at once. Move and copy
/// need a target collection of the owner's; all of it happens, or none of it.
pub async fn bulk(
    db: &Database,
    owner: i64,
    slug: &str,
    change: BulkChange<'_>,
    limits: Limits,
    now: i64,
) -> Result<BulkOutcome> {
    let BulkChange {
        action,
        public_ids,
        target,
    } = change;
    if public_ids.is_empty() {
        return Err(invalid("images", "Choose at least one image."));
    }
    if public_ids.len() > MAX_BULK_ITEMS {
        return Err(invalid(
            "images",
            format!("Choose at most {MAX_BULK_ITEMS} images at a time."),
        ));
    }
    let target = match (action, target) {
        (BulkAction::Remove, _) => None,
        (_, Some(target)) if target == slug => return Err(invalid("target", "Choose a different collection.")),
        (_, Some(target)) if !target.is_empty() => Some(target),
        _ => return Err(invalid("target", "Choose the collection to put them in.")),
    };
    let mut tx = db.pool().begin().await?;
    // Locked in a fixed order (by slug), so two opposite moves cannot deadlock.
    let (source_id, target_id) = match target {
        Some(target) if target < slug => {
            let target_id = lock_owned(&mut tx, owner, target, now).await?;
            (lock_owned(&mut tx, owner, slug, now).await?, Some(target_id))
        }
        Some(target) => {
            let source_id = lock_owned(&mut tx, owner, slug, now).await?;
            (source_id, Some(lock_owned(&mut tx, owner, target, now).await?))
        }
        None => (lock_owned(&mut tx, owner, slug, now).await?, None),
    };
    // The chosen images that are in the source, in the source's order.
    let rows = sqlx::query(
        "SELECT ci.image_id, i.public_id FROM collection_items ci JOIN images i ON i.id = ci.image_id \
         WHERE ci.collection_id = $1 ORDER BY ci.position, ci.image_id",
    )
    .bind(source_id)
    .fetch_all(&mut *tx)
    .await?;
    let mut chosen = Vec::new();
    for row in &rows {
        let public_id: String = row.try_get(1)?;
        if public_ids.contains(&public_id) {
            chosen.push(row.try_get::<i64, _>(0)?);
        }
    }
    if chosen.is_empty() {
        return Err(invalid(
            "images",
            "None of those images are in this collection any more.",
        ));
    }
    let mut outcome = BulkOutcome::default();
    if let Some(target_id) = target_id {
        let (added, already_there) = insert_items(&mut tx, target_id, owner, &chosen, limits, now).await?;
        outcome.added = added;
        outcome.already_there = already_there;
    }
    if action != BulkAction::Copy {
        for image_id in &chosen {
            sqlx::query("DELETE FROM collection_items WHERE collection_id = $1 AND image_id = $2")
                .bind(source_id)
                .bind(image_id)
                .execute(&mut *tx)
                .await?;
        }
        outcome.removed = chosen.len() as u32;
    }
    tx.commit().await?;
    Ok(outcome)
}

/// Makes one of the collection's images its cover.
pub async fn set_cover(db: &Database, owner: i64, slug: &str, public_id: &str, now: i64) -> Result<()> {
    let mut tx = db.pool().begin().await?;
    let collection_id = lock_owned(&mut tx, owner, slug, now).await?;
    let set = sqlx::query(
        "UPDATE collections SET cover_image_id = (SELECT ci.image_id FROM collection_items ci \
         JOIN images i ON i.id = ci.image_id WHERE ci.collection_id = $1 AND i.public_id = $2) \
         WHERE id = $1 AND EXISTS (SELECT 1 FROM collection_items ci JOIN images i ON i.id = ci.image_id \
         WHERE ci.collection_id = $1 AND i.public_id = $2)",
    )
    .bind(collection_id)
    .bind(public_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if set == 0 {
        return Err(invalid("image", "That image is not in this collection."));
    }
    tx.commit().await?;
    Ok(())
}

const SUMMARY_COLUMNS: &str = "col.id, col.slug, col.name, col.description, col.is_public, col.created_at, \
     col.updated_at, col.user_id, \
     (SELECT CAST(COUNT(*) AS BIGINT) FROM collection_items ci JOIN images i ON i.id = ci.image_id \
      WHERE ci.collection_id = col.id AND i.visibility = 'public') AS item_count, \
     COALESCE((SELECT i.id FROM images i WHERE i.id = col.cover_image_id AND i.visibility = 'public'), \
      (SELECT ci.image_id FROM collection_items ci JOIN images i ON i.id = ci.image_id \
       WHERE ci.collection_id = col.id AND i.visibility = 'public' ORDER BY ci.position, ci.image_id LIMIT 1)) AS cover_id";

/// Collections as rows of [`SUMMARY_COLUMNS`] into summaries, covers loaded in one query.
async fn summaries(db: &Database, rows: &[AnyRow]) -> Result<Vec<CollectionSummary>> {
    let cover_ids: Vec<i64> = rows
        .iter()
        .filter_map(|row| row.try_get::<Option<i64>, _>("cover_id").ok().flatten())
        .collect();
    let covers = cards_by_id(db, &cover_ids).await?;
    rows.iter()
        .map(|row| {
            let cover_id: Option<i64> = row.try_get("cover_id")?;
            Ok(CollectionSummary {
                slug: row.try_get("slug")?,
                name: row.try_get("name")?,
                description: row.try_get("description")?,
                is_public: row.try_get::<i64, _>("is_public")? == 1,
                item_count: row.try_get::<i64, _>("item_count")? as u32,
                cover: cover_id.and_then(|id| covers.get(&id).cloned()),
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        })
        .collect()
}

/// Image cards by internal id.
async fn cards_by_id(db: &Database, ids: &[i64]) -> Result<HashMap<i64, ImageCard>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let placeholders = (1..=ids.len()).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT i.id AS internal_id, {CARD_COLUMNS} FROM images i JOIN contributors c ON c.id = i.contributor_id \
         WHERE i.id IN ({placeholders})"
    );
    let mut query = sqlx::query(&sql);
    for id in ids {
        query = query.bind(id);
    }
    let mut cards = HashMap::new();
    for row in query.fetch_all(db.pool()).await? {
        cards.insert(row.try_get::<i64, _>("internal_id")?, card_from_row(&row)?);
    }
    Ok(cards)
}

/// The member's own collections, most recently changed first.
pub async fn list_mine(db: &Database, owner: i64) -> Result<Vec<CollectionSummary>> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM collections col WHERE col.user_id = $1 AND col.deleted_at IS NULL \
         ORDER BY col.updated_at DESC, col.id DESC"
    );
    let rows = sqlx::query(&sql).bind(owner).fetch_all(db.pool()).await?;
    summaries(db, &rows).await
}

/// A member's collections as `viewer` may see them (all when it is the member, public
/// ones otherwise), one page at a time: what the developer API's list will serve.
pub async fn list(
    db: &Database,
    owner: i64,
    viewer: Option<i64>,
    page: u32,
    per_page: u32,
) -> Result<(Vec<CollectionSummary>, bool)> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM collections col WHERE col.user_id = $1 AND col.deleted_at IS NULL \
         AND (col.is_public = 1 OR col.user_id = $2) ORDER BY col.updated_at DESC, col.id DESC LIMIT $3 OFFSET $4"
    );
    let rows = sqlx::query(&sql)
        .bind(owner)
        .bind(viewer.unwrap_or(0))
        .bind(i64::from(per_page) + 1)
        .bind(i64::from(page.saturating_sub(1)) * i64::from(per_page))
        .fetch_all(db.pool())
        .await?;
    let has_more = rows.len() > per_page as usize;
    let list = summaries(db, &rows[..rows.len().min(per_page as usize)]).await?;
    Ok((list, has_more))
}

/// One collection if `viewer` may see it: public ones to anyone, private ones to their
/// owner only (to anyone else they do not exist). Returns it, its owner's name and id.
pub async fn get(db: &Database, viewer: Option<i64>, slug: &str) -> Result<(i64, CollectionSummary, String, i64)> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS}, u.display_name AS owner_name FROM collections col JOIN users u ON u.id = col.user_id \
         WHERE col.slug = $1 AND col.deleted_at IS NULL AND (col.is_public = 1 OR col.user_id = $2)"
    );
    let row = sqlx::query(&sql)
        .bind(slug)
        .bind(viewer.unwrap_or(0))
        .fetch_optional(db.pool())
        .await?
        .ok_or(CollectionError::NotFound)?;
    let summary = summaries(db, std::slice::from_ref(&row))
        .await?
        .pop()
        .ok_or(CollectionError::NotFound)?;
    Ok((
        row.try_get("id")?,
        summary,
        row.try_get("owner_name")?,
        row.try_get("user_id")?,
    ))
}

/// `%word%` for `LIKE … ESCAPE '\'`, lower-cased, with `%`, `_` and `\` taken literally.
fn like_pattern(word: &str) -> String {
    let mut pattern = String::from("%");
    for c in word.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// A page of a collection's images as `viewer` may see it, sorted and filtered.
pub async fn items(db: &Database, viewer: Option<i64>, request: &ItemsRequest) -> Result<CollectionView> {
    let sort = ItemSort::parse(&request.sort).ok_or_else(|| invalid("sort", "Choose one of the orders listed."))?;
    if !request.orientation.is_empty()
        && !crate::features::library::ORIENTATIONS
            .iter()
            .any(|(value, _)| *value == request.orientation)
    {
        return Err(invalid("orientation", "Choose landscape, portrait or square."));
    }
    if request.q.chars().count() > crate::features::library::MAX_QUERY_CHARS {
        return Err(invalid("q", "Use fewer words to filter."));
    }
    let page = request.page.max(1);
    if page > crate::features::library::MAX_PAGE {
        return Err(invalid("page", "That page does not exist."));
    }
    let (collection_id, collection, owner_name, owner_id) = get(db, viewer, &request.slug).await?;

    let mut conditions = vec!["ci.collection_id = $1".to_owned(), "i.visibility = 'public'".to_owned()];
    let mut binds: Vec<String> = Vec::new();
    for word in request.q.split_whitespace().take(8) {
        binds.push(like_pattern(word));
        conditions.push(format!("LOWER(i.title) LIKE ${} ESCAPE '\\'", binds.len() + 1));
    }
    if !request.orientation.is_empty() {
        binds.push(request.orientation.clone());
        conditions.push(format!("i.orientation = ${}", binds.len() + 1));
    }
    let filter = conditions.join(" AND ");
    let order = match sort {
        ItemSort::Custom => "ci.position, ci.image_id",
        ItemSort::Added => "ci.added_at DESC, ci.position, ci.image_id",
        ItemSort::Oldest => "ci.added_at, ci.position, ci.image_id",
        ItemSort::Title => "LOWER(i.title), i.id",
    };
    let limit_at = binds.len() + 2;
    let sql = format!(
        "SELECT {CARD_COLUMNS} FROM collection_items ci JOIN images i ON i.id = ci.image_id \
         JOIN contributors c ON c.id = i.contributor_id WHERE {filter} ORDER BY {order} LIMIT ${limit_at} OFFSET ${}",
        limit_at + 1
    );
    let mut query = sqlx::query(&sql).bind(collection_id);
    for bind in &binds {
        query = query.bind(bind.as_str());
    }
    let rows = query
        .bind(i64::from(ITEMS_PAGE_SIZE) + 1)
        .bind(i64::from(page - 1) * i64::from(ITEMS_PAGE_SIZE))
        .fetch_all(db.pool())
        .await?;
    let has_more = rows.len() > ITEMS_PAGE_SIZE as usize;
    let items = rows
        .iter()
        .take(ITEMS_PAGE_SIZE as usize)
        .map(card_from_row)
        .collect::<std::result::Result<Vec<_>, _>>()?;

    let matching = if binds.is_empty() {
        collection.item_count
    } else {
        let sql = format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM collection_items ci JOIN images i ON i.id = ci.image_id WHERE {filter}"
        );
        let mut query = sqlx::query_scalar::<_, i64>(&sql).bind(collection_id);
        for bind in &binds {
            query = query.bind(bind.as_str());
        }
        query.fetch_one(db.pool()).await? as u32
    };
    Ok(CollectionView {
        collection,
        owner_name,
        is_owner: viewer == Some(owner_id),
        items,
        page,
        has_more,
        matching,
    })
}

/// The member's collections for the save picker, each saying whether it holds the image.
pub async fn save_targets(db: &Database, owner: i64, public_id: &str) -> Result<Vec<SaveTarget>> {
    let rows = sqlx::query(
        "SELECT col.slug, col.name, col.is_public, \
         (SELECT CAST(COUNT(*) AS BIGINT) FROM collection_items ci WHERE ci.collection_id = col.id) AS item_count, \
         (SELECT CAST(COUNT(*) AS BIGINT) FROM collection_items ci JOIN images i ON i.id = ci.image_id \
          WHERE ci.collection_id = col.id AND i.public_id = $2) AS holds \
         FROM collections col WHERE col.user_id = $1 AND col.deleted_at IS NULL \
         ORDER BY col.updated_at DESC, col.id DESC",
    )
    .bind(owner)
    .bind(public_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(SaveTarget {
                slug: row.try_get(0)?,
                name: row.try_get(1)?,
                is_public: row.try_get::<i64, _>(2)? == 1,
                item_count: row.try_get::<i64, _>(3)? as u32,
                contains: row.try_get::<i64, _>(4)? > 0,
            })
        })
        .collect()
}

/// Which of `public_ids` the member has saved in any collection (for "saved" marks on cards).
pub async fn saved_among(db: &Database, owner: i64, public_ids: &[String]) -> Result<Vec<String>> {
    if public_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = (2..=public_ids.len() + 1)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT DISTINCT i.public_id FROM collection_items ci JOIN images i ON i.id = ci.image_id \
         JOIN collections col ON col.id = ci.collection_id \
         WHERE ci.user_id = $1 AND col.deleted_at IS NULL AND i.public_id IN ({placeholders})"
    );
    let mut query = sqlx::query_scalar::<_, String>(&sql).bind(owner);
    for id in public_ids {
        query = query.bind(id.as_str());
    }
    Ok(query.fetch_all(db.pool()).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_tidied_and_bounded() {
        assert_eq!(clean_name("  Moody   forests ").unwrap(), "Moody forests");
        assert!(clean_name("   ").is_err());
        assert!(clean_name(&"a".repeat(MAX_NAME_CHARS + 1)).is_err());
        assert!(clean_name("tab\u{7}bell").is_err());
        assert_eq!(clean_description(" a\r\nb ").unwrap(), "a\nb");
    }

    #[test]
    fn slugs_carry_the_name_and_a_random_tail() {
        let slug = new_slug("Moody Forests & Fog!");
        assert!(slug.starts_with("moody-forests-fog-"), "{slug}");
        assert_eq!(slug.len(), "moody-forests-fog-".len() + 6);
        assert_ne!(new_slug("Same"), new_slug("Same"));
        assert_eq!(new_slug("日本").len(), 6);
    }

    #[test]
    fn like_patterns_take_wildcards_literally() {
        assert_eq!(like_pattern("50%_Off"), "%50\\%\\_off%");
    }
}
