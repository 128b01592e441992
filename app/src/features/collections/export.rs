//! Collection exports (server only): the owner asks for a zip of one collection — every
//! image at a chosen size, the originals too if they want, and a manifest with titles,
//! contributors and the licence — the job queue writes it to a temporary file one image at
//! a time (memory stays at one image however large the zip), reports progress, and the
//! download link works for a day.

use super::{
    export_href,
    service::{owned, CollectionError},
    CollectionExport, ExportStatus, EXPORT_LIFETIME_SECONDS, EXPORT_SIZES,
};
use crate::{
    features::{
        library::{LICENCE_ANCHOR, LICENCE_NAME, LICENCE_TERMS},
        privacy::member_data::slug as file_slug,
    },
    platform::{
        archive::{entry_options, pretty_json},
        clock::now_unix,
        config::Config,
        db::Database,
        jobs::{ClaimedJob, JobError, JobFuture, JobHandler, JobQueue},
        media::MediaStore,
    },
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::{any::AnyRow, Row};
use std::{collections::HashMap, io::Write, sync::Arc};

pub const EXPORT_JOB: &str = "collections.export";
/// The manifest's format, for anyone who reads exports with a program.
pub const FORMAT: &str = "atelier-collection/1";
/// The most image bytes one export may hold (4 GiB): enough for a thousand large images,
/// and a file every unzip tool and file system handles.
pub const MAX_EXPORT_BYTES: i64 = 4 << 30;
/// How many of a collection's exports its page lists.
const LISTED: i64 = 5;

type Result<T> = std::result::Result<T, CollectionError>;

#[derive(Serialize, Deserialize)]
struct ExportPayload {
    export_id: i64,
}

/// The images an export holds: those the collection page shows (public library images),
/// in the collection's own order.
const ITEMS_SQL: &str = "SELECT i.id, i.public_id, i.title, i.description, i.alt_text, i.width, i.height, \
     c.name AS contributor_name, c.slug AS contributor_slug, ci.added_at \
     FROM collection_items ci JOIN images i ON i.id = ci.image_id JOIN contributors c ON c.id = i.contributor_id \
     WHERE ci.collection_id = $1 AND i.visibility = 'public' ORDER BY ci.position, ci.image_id";

/// Records an export of the owner's collection `slug` and queues the job that builds it.
/// Refused when the size is unknown, the collection is empty, or another of the member's
/// exports is still being made (a unique index decides, so two requests at once cannot
/// both start one).
pub async fn request(
    db: &Database,
    jobs: &JobQueue,
    owner: i64,
    slug: &str,
    variant: &str,
    with_originals: bool,
    now: i64,
) -> Result<CollectionExport> {
    if !EXPORT_SIZES.iter().any(|(value, _)| *value == variant) {
        return Err(CollectionError::Invalid {
            field: "variant",
            message: "Choose one of the sizes listed.".into(),
        });
    }
    // The originals are the chosen size already.
    let with_originals = with_originals && variant != "original";
    let mut conn = db.pool().acquire().await?;
    let collection_id = owned(&mut conn, owner, slug).await?;
    let count: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM collection_items ci JOIN images i ON i.id = ci.image_id \
         WHERE ci.collection_id = $1 AND i.visibility = 'public'",
    )
    .bind(collection_id)
    .fetch_one(&mut *conn)
    .await?;
    if count == 0 {
        return Err(CollectionError::Refused(
            "This collection has no images yet, so there is nothing to export.".into(),
        ));
    }
    // The files' sizes are known before anything is read: a zip that would not fit is
    // refused now, not after minutes of work and gigabytes of temporary disk.
    let bytes: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(f.byte_size), 0) AS BIGINT) FROM collection_items ci \
         JOIN images i ON i.id = ci.image_id JOIN image_files f ON f.image_id = ci.image_id \
         WHERE ci.collection_id = $1 AND i.visibility = 'public' AND (f.variant = $2 OR ($3 = 1 AND f.variant = 'original'))",
    )
    .bind(collection_id)
    .bind(variant)
    .bind(i64::from(with_originals))
    .fetch_one(&mut *conn)
    .await?;
    if bytes > MAX_EXPORT_BYTES {
        return Err(CollectionError::Refused(format!(
            "This export would hold {:.1} GB of images; one export may hold at most {} GB. Choose a smaller size{}.",
            bytes as f64 / f64::from(1 << 30),
            MAX_EXPORT_BYTES >> 30,
            if with_originals {
                " or leave out the originals"
            } else {
                ""
            },
        )));
    }
    let inserted = sqlx::query_scalar::<_, i64>(
        "INSERT INTO collection_exports (user_id, collection_id, variant, with_originals, status, progress, item_count, \
         created_at) VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6) RETURNING id",
    )
    .bind(owner)
    .bind(collection_id)
    .bind(variant)
    .bind(i64::from(with_originals))
    .bind(count)
    .bind(now)
    .fetch_one(&mut *conn)
    .await;
    let export_id = match inserted {
        Ok(id) => id,
        Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
            return Err(CollectionError::Refused(
                "One of your exports is still being made. When it is ready, you can start another.".into(),
            ))
        }
        Err(error) => return Err(error.into()),
    };
    if let Err(error) = jobs.enqueue(EXPORT_JOB, &ExportPayload { export_id }).await {
        // Without its job the row would hold the one-at-a-time slot for ever.
        mark_failed(db, export_id, "The export could not be queued; try again.").await;
        return Err(error.into());
    }
    tracing::info!(owner, export_id, variant, with_originals, "collection export requested");
    let exports = list_for(&mut conn, owner, collection_id, slug, now).await?;
    exports
        .into_iter()
        .find(|export| export.id == export_id)
        .ok_or(CollectionError::NotFound)
}

/// The owner's latest exports of their collection `slug`, newest first.
pub async fn list(db: &Database, owner: i64, slug: &str, now: i64) -> Result<Vec<CollectionExport>> {
    let mut conn = db.pool().acquire().await?;
    let collection_id = owned(&mut conn, owner, slug).await?;
    list_for(&mut conn, owner, collection_id, slug, now).await
}

async fn list_for(
    conn: &mut sqlx::AnyConnection,
    owner: i64,
    collection_id: i64,
    slug: &str,
    now: i64,
) -> Result<Vec<CollectionExport>> {
    let rows = sqlx::query(
        "SELECT id, variant, with_originals, status, progress, item_count, size_bytes, error, created_at, expires_at \
         FROM collection_exports WHERE collection_id = $1 AND user_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3",
    )
    .bind(collection_id)
    .bind(owner)
    .bind(LISTED)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| export_from_row(row, slug, now))
        .collect::<std::result::Result<Vec<_>, sqlx::Error>>()
        .map_err(CollectionError::from)
}

fn export_from_row(row: &AnyRow, slug: &str, now: i64) -> std::result::Result<CollectionExport, sqlx::Error> {
    let id: i64 = row.try_get("id")?;
    let raw_status: String = row.try_get("status")?;
    let expires_at: Option<i64> = row.try_get("expires_at")?;
    let mut status = ExportStatus::parse(&raw_status).unwrap_or(ExportStatus::Failed);
    // Past its day but not yet swept up by the maintenance loop: already gone for the member.
    if status == ExportStatus::Ready && expires_at.is_some_and(|at| at <= now) {
        status = ExportStatus::Expired;
    }
    Ok(CollectionExport {
        id,
        variant: row.try_get("variant")?,
        with_originals: row.try_get::<i64, _>("with_originals")? == 1,
        status,
        progress: row.try_get::<i64, _>("progress")?.clamp(0, 100) as u8,
        item_count: row.try_get::<Option<i64>, _>("item_count")?.map(|n| n.max(0) as u32),
        size_bytes: row.try_get::<Option<i64>, _>("size_bytes")?.map(|n| n.max(0) as u64),
        error: row.try_get("error")?,
        created_at: row.try_get("created_at")?,
        expires_at,
        download_href: (status == ExportStatus::Ready).then(|| export_href(slug, id)),
    })
}

/// A finished export the owner may download now: its storage key and the file name to
/// offer. `None` for anyone else, a guessed id, another collection's export, or one whose
/// day is over.
pub async fn downloadable(
    db: &Database,
    owner: i64,
    slug: &str,
    export_id: i64,
    now: i64,
) -> std::result::Result<Option<(String, String)>, sqlx::Error> {
    // A NUL names no collection, and PostgreSQL would refuse the query over it.
    if slug.contains('\0') {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT e.file_key, e.created_at FROM collection_exports e JOIN collections col ON col.id = e.collection_id \
         WHERE e.id = $1 AND e.user_id = $2 AND col.slug = $3 AND col.deleted_at IS NULL AND e.status = 'ready' \
         AND e.expires_at > $4 AND e.file_key IS NOT NULL",
    )
    .bind(export_id)
    .bind(owner)
    .bind(slug)
    .bind(now)
    .fetch_optional(db.pool())
    .await?;
    row.map(|row| {
        let created_at: i64 = row.try_get("created_at")?;
        let name = format!("{slug}-{}.zip", crate::dates::iso_day(created_at));
        Ok((row.try_get("file_key")?, name))
    })
    .transpose()
}

/// Deletes the zips of exports past their day and marks them expired.
pub async fn purge_expired(db: &Database, media: &MediaStore, now: i64) -> std::result::Result<u64, sqlx::Error> {
    crate::platform::archive::purge_expired(db, media, "collection_exports", now).await
}

/// Marks an unfinished export failed with a reason the member can act on.
async fn mark_failed(db: &Database, export_id: i64, reason: &str) {
    let outcome = sqlx::query(
        "UPDATE collection_exports SET status = 'failed', error = $2 WHERE id = $1 AND status IN ('queued', 'building')",
    )
    .bind(export_id)
    .bind(reason)
    .execute(db.pool())
    .await;
    if let Err(error) = outcome {
        tracing::error!(%error, export_id, "could not mark a collection export failed");
    }
}

/// The job that builds a collection export.
pub struct CollectionExportJob {
    pub db: Database,
    pub media: MediaStore,
    pub config: Arc<Config>,
}

impl JobHandler for CollectionExportJob {
    fn kind(&self) -> &'static str {
        EXPORT_JOB
    }

    fn run<'a>(&'a self, job: &'a ClaimedJob) -> JobFuture<'a> {
        Box::pin(async move {
            let payload: ExportPayload = job.payload()?;
            let outcome = self.build(payload.export_id).await;
            if let Err(error) = outcome.as_ref() {
                if job.is_last_try(error) {
                    let reason = match error {
                        JobError::Permanent(reason) => reason.as_str(),
                        JobError::Retry(_) => "The export could not be built; try again in a while.",
                    };
                    mark_failed(&self.db, payload.export_id, reason).await;
                }
            }
            outcome
        })
    }
}

fn retry(error: impl std::fmt::Display) -> JobError {
    JobError::Retry(error.to_string())
}

/// One stored file of an image.
struct StoredFile {
    key: String,
    content_type: String,
    width: i64,
    height: i64,
    bytes: i64,
}

/// One file to put into the zip: where it goes and where it comes from.
struct Entry {
    path: String,
    key: String,
}

impl CollectionExportJob {
    async fn build(&self, export_id: i64) -> std::result::Result<(), JobError> {
        let row = sqlx::query(
            "SELECT e.collection_id, e.variant, e.with_originals, e.status, col.slug, col.name, col.description, \
             col.is_public, col.deleted_at FROM collection_exports e LEFT JOIN collections col ON col.id = e.collection_id \
             WHERE e.id = $1",
        )
        .bind(export_id)
        .fetch_optional(self.db.pool())
        .await
        .map_err(retry)?;
        // The account may have been deleted since, or a run before a crash finished the work.
        let Some(row) = row else { return Ok(()) };
        let status: String = row.try_get("status").map_err(retry)?;
        if !matches!(status.as_str(), "queued" | "building") {
            return Ok(());
        }
        let collection_id: Option<i64> = row.try_get("collection_id").map_err(retry)?;
        let deleted_at: Option<i64> = row.try_get("deleted_at").map_err(retry)?;
        let Some(collection_id) = collection_id.filter(|_| deleted_at.is_none()) else {
            return Err(JobError::Permanent(
                "The collection was deleted before its export was made.".into(),
            ));
        };
        let variant: String = row.try_get("variant").map_err(retry)?;
        let with_originals = row.try_get::<i64, _>("with_originals").map_err(retry)? == 1;
        let slug: String = row.try_get("slug").map_err(retry)?;
        self.set_progress(export_id, 1, None).await?;

        let now = now_unix();
        let items = sqlx::query(ITEMS_SQL)
            .bind(collection_id)
            .fetch_all(self.db.pool())
            .await
            .map_err(retry)?;
        if items.is_empty() {
            return Err(JobError::Permanent(
                "The collection had no images left to export.".into(),
            ));
        }
        let mut files = self.files(collection_id, &variant).await?;
        let mut tags = self.tags(collection_id).await?;

        let digits = items.len().to_string().len();
        let mut entries = Vec::new();
        let mut manifest_items = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let image_id: i64 = item.try_get("id").map_err(retry)?;
            let public_id: String = item.try_get("public_id").map_err(retry)?;
            let title: String = item.try_get("title").map_err(retry)?;
            let words: String = file_slug(&title).chars().take(60).collect();
            let words = match words.trim_end_matches('-') {
                "" => public_id.as_str(),
                words => words,
            };
            let stem = format!("{:0digits$}-{words}", index + 1);
            let mut image_files = files.remove(&image_id).unwrap_or_default();
            let mut wanted = vec![(variant.as_str(), "images")];
            if with_originals {
                wanted.push(("original", "originals"));
            }
            let mut manifest_files = Vec::new();
            for (wanted_variant, folder) in wanted {
                let Some(file) = image_files.remove(wanted_variant) else {
                    return Err(JobError::Permanent(format!(
                        "The {wanted_variant} file of \"{title}\" is missing from the library, so the export was stopped. Try a different size."
                    )));
                };
                let extension = file.key.rsplit_once('.').map_or("bin", |(_, extension)| extension);
                let path = format!("{folder}/{stem}.{extension}");
                manifest_files.push(json!({
                    "path": path,
                    "size": wanted_variant,
                    "content_type": file.content_type,
                    "width": file.width,
                    "height": file.height,
                    "bytes": file.bytes,
                    // Library keys are content addresses: the name is the file's SHA-256.
                    "sha256": MediaStore::is_public_key(&file.key)
                        .then(|| file.key.rsplit('/').next().and_then(|name| name.split('.').next()))
                        .flatten(),
                }));
                entries.push(Entry { path, key: file.key });
            }
            let contributor_slug: String = item.try_get("contributor_slug").map_err(retry)?;
            manifest_items.push(json!({
                "position": index + 1,
                "id": public_id,
                "title": title,
                "description": item.try_get::<String, _>("description").map_err(retry)?,
                "alt_text": item.try_get::<String, _>("alt_text").map_err(retry)?,
                "url": format!("{}/photos/{public_id}", self.config.public_url),
                "width": item.try_get::<i64, _>("width").map_err(retry)?,
                "height": item.try_get::<i64, _>("height").map_err(retry)?,
                "tags": tags.remove(&image_id).unwrap_or_default(),
                "contributor": {
                    "name": item.try_get::<String, _>("contributor_name").map_err(retry)?,
                    "url": format!("{}/contributors/{contributor_slug}", self.config.public_url),
                },
                "saved_at": item.try_get::<i64, _>("added_at").map_err(retry)?,
                "licence": LICENCE_NAME,
                "files": manifest_files,
            }));
        }
        let manifest = json!({
            "format": FORMAT,
            "site": self.config.site_name,
            "generated_at": now,
            "generated_on": crate::dates::iso_day(now),
            "collection": {
                "name": row.try_get::<String, _>("name").map_err(retry)?,
                "description": row.try_get::<String, _>("description").map_err(retry)?,
                "public": row.try_get::<i64, _>("is_public").map_err(retry)? == 1,
                "url": format!("{}{}", self.config.public_url, super::collection_href(&slug)),
                "images": manifest_items.len(),
            },
            "size": { "variant": variant, "label": super::export_size_label(&variant) },
            "originals": with_originals,
            "licence": {
                "name": LICENCE_NAME,
                "terms": LICENCE_TERMS,
                "url": format!("{}/terms#{LICENCE_ANCHOR}", self.config.public_url),
            },
            "items": manifest_items,
            "notes": "images/ holds every image of the collection at the size chosen, numbered in the collection's order; originals/ (when asked for) the files as they were uploaded. Times are Unix seconds (UTC).",
        });
        self.set_progress(export_id, 2, Some(items.len())).await?;

        let file = self.write_zip(export_id, &manifest, entries, now).await?;
        let size = file.metadata().map_err(retry)?.len() as i64;
        let key = self.media.put_export_file(file).await.map_err(retry)?;
        let finished = sqlx::query(
            "UPDATE collection_exports SET status = 'ready', progress = 100, file_key = $2, size_bytes = $3, \
             ready_at = $4, expires_at = $5, error = NULL WHERE id = $1 AND status = 'building'",
        )
        .bind(export_id)
        .bind(&key)
        .bind(size)
        .bind(now)
        .bind(now + EXPORT_LIFETIME_SECONDS)
        .execute(self.db.pool())
        .await
        .map_err(retry)?
        .rows_affected();
        if finished == 0 {
            // Another worker finished first, or the account went meanwhile: keep no copy.
            let _ = self.media.delete(&key).await;
            return Ok(());
        }
        tracing::info!(export_id, bytes = size, "collection export ready");
        Ok(())
    }

    /// Writes the manifest and every entry into a zip in an anonymous temporary file, one
    /// image in memory at a time, and returns the file rewound to its start.
    async fn write_zip(
        &self,
        export_id: i64,
        manifest: &Value,
        entries: Vec<Entry>,
        now: i64,
    ) -> std::result::Result<std::fs::File, JobError> {
        let manifest = pretty_json(manifest);
        let mut writer = blocking(move || {
            let mut writer = zip::ZipWriter::new(tempfile::tempfile()?);
            writer.start_file("manifest.json", entry_options(false, now))?;
            writer.write_all(&manifest)?;
            Ok(writer)
        })
        .await?;
        let total = entries.len();
        let mut reported = 2;
        for (done, entry) in entries.into_iter().enumerate() {
            let bytes = self.media.read(&entry.key).await.map_err(retry)?;
            writer = blocking(move || {
                writer.start_file(entry.path, entry_options(true, now))?;
                writer.write_all(&bytes)?;
                Ok(writer)
            })
            .await?;
            // 2 % for reading the collection, 96 % for the files, the rest for storing the zip.
            let progress = 2 + (96 * (done + 1) / total) as i64;
            if progress > reported {
                self.set_progress(export_id, progress, None).await?;
                reported = progress;
            }
        }
        blocking(move || {
            use std::io::Seek;
            let mut file = writer.finish()?;
            file.rewind()?;
            Ok(file)
        })
        .await
    }

    /// The chosen variant and the original of every image in the collection, by image.
    async fn files(
        &self,
        collection_id: i64,
        variant: &str,
    ) -> std::result::Result<HashMap<i64, HashMap<String, StoredFile>>, JobError> {
        let rows = sqlx::query(
            "SELECT f.image_id, f.variant, f.storage_key, f.content_type, f.width, f.height, f.byte_size \
             FROM image_files f JOIN collection_items ci ON ci.image_id = f.image_id \
             WHERE ci.collection_id = $1 AND f.variant IN ($2, 'original')",
        )
        .bind(collection_id)
        .bind(variant)
        .fetch_all(self.db.pool())
        .await
        .map_err(retry)?;
        let mut files: HashMap<i64, HashMap<String, StoredFile>> = HashMap::new();
        for row in rows {
            let file = StoredFile {
                key: row.try_get("storage_key").map_err(retry)?,
                content_type: row.try_get("content_type").map_err(retry)?,
                width: row.try_get("width").map_err(retry)?,
                height: row.try_get("height").map_err(retry)?,
                bytes: row.try_get("byte_size").map_err(retry)?,
            };
            files
                .entry(row.try_get("image_id").map_err(retry)?)
                .or_default()
                .insert(row.try_get("variant").map_err(retry)?, file);
        }
        Ok(files)
    }

    /// Every image's tags, alphabetically, by image.
    async fn tags(&self, collection_id: i64) -> std::result::Result<HashMap<i64, Vec<String>>, JobError> {
        let rows = sqlx::query(
            "SELECT t.image_id, t.tag FROM image_tags t JOIN collection_items ci ON ci.image_id = t.image_id \
             WHERE ci.collection_id = $1 ORDER BY t.image_id, t.tag",
        )
        .bind(collection_id)
        .fetch_all(self.db.pool())
        .await
        .map_err(retry)?;
        let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
        for row in rows {
            tags.entry(row.try_get("image_id").map_err(retry)?)
                .or_default()
                .push(row.try_get("tag").map_err(retry)?);
        }
        Ok(tags)
    }

    async fn set_progress(
        &self,
        export_id: i64,
        progress: i64,
        item_count: Option<usize>,
    ) -> std::result::Result<(), JobError> {
        sqlx::query(
            "UPDATE collection_exports SET status = 'building', progress = $2, item_count = COALESCE($3, item_count) \
             WHERE id = $1 AND status IN ('queued', 'building')",
        )
        .bind(export_id)
        .bind(progress)
        .bind(item_count.map(|n| n as i64))
        .execute(self.db.pool())
        .await
        .map_err(retry)?;
        Ok(())
    }
}

/// Runs zip writing (plain file I/O and deflate) on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> zip::result::ZipResult<T> + Send + 'static,
) -> std::result::Result<T, JobError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(retry)?
        .map_err(|error| retry(format!("could not write the zip: {error}")))
}
