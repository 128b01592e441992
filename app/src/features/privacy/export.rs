//! Data exports: a member asks (once a day), the job queue builds a zip of every category
//! the inventory marks as exported — one JSON file each, a manifest, and the member's
//! files — stores it privately, mails a link to the page it can be downloaded from, and
//! deletes it 7 days after it is ready.

use super::{
    inventory::{Export, CATEGORIES},
    member_data::{self, Member},
    requests::{self, Kind, Status},
};
use crate::platform::{
    archive::pretty_json,
    clock::now_unix,
    config::Config,
    db::Database,
    jobs::{ClaimedJob, JobError, JobFuture, JobHandler, JobQueue},
    mail,
    media::MediaStore,
};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{AnyConnection, Row};
use std::{io::Write, sync::Arc};

pub const EXPORT_JOB: &str = "privacy.export";
/// How long a finished export can be downloaded before its file is deleted.
pub const EXPORT_LIFETIME_SECONDS: i64 = 7 * 86_400;
/// One export a day: building one reads every table, and a day-old copy is rarely stale.
pub const EXPORT_INTERVAL_SECONDS: i64 = 86_400;
/// The manifest's format, for anyone who reads exports with a program.
pub const FORMAT: &str = "atelier-export/1";

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("an export was asked for less than a day ago")]
    TooSoon { next_at: i64 },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

#[derive(Serialize, Deserialize)]
struct ExportPayload {
    export_id: i64,
}

/// Records the request and the export and queues the job that builds it. Refused when
/// the member asked for another export less than a day ago (a failed one does not count).
pub async fn request(db: &Database, jobs: &JobQueue, user_id: i64, now: i64) -> Result<i64, ExportError> {
    let mut tx = db.pool().begin().await?;
    // Two requests at once would each find no export today.
    crate::platform::db::lock_member(&mut tx, db.backend(), user_id).await?;
    if let Some(next_at) = next_allowed_at(&mut tx, user_id, now).await? {
        return Err(ExportError::TooSoon { next_at });
    }
    let request_id = requests::open(&mut tx, user_id, Kind::Export, now).await?;
    let export_id: i64 = sqlx::query_scalar(
        "INSERT INTO data_exports (user_id, request_id, status, progress, created_at) VALUES ($1, $2, 'queued', 0, $3) \
         RETURNING id",
    )
    .bind(user_id)
    .bind(request_id)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    jobs.enqueue(EXPORT_JOB, &ExportPayload { export_id }).await?;
    tracing::info!(user_id, export_id, "data export requested");
    Ok(export_id)
}

/// When the member may ask for another export, or `None` if they may now: a day after
/// their last export that did not fail. The page and [`request`] both ask this.
pub async fn next_allowed_at(conn: &mut AnyConnection, user_id: i64, now: i64) -> Result<Option<i64>, sqlx::Error> {
    let last: Option<i64> = sqlx::query_scalar(
        "SELECT CAST(MAX(created_at) AS BIGINT) FROM data_exports WHERE user_id = $1 AND status <> 'failed' AND created_at > $2",
    )
    .bind(user_id)
    .bind(now - EXPORT_INTERVAL_SECONDS)
    .fetch_one(conn)
    .await?;
    Ok(last.map(|last| last + EXPORT_INTERVAL_SECONDS))
}

/// One of the member's exports, as their data page lists it.
pub async fn list(db: &Database, user_id: i64) -> Result<Vec<super::data_api::ExportInfo>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, status, progress, size_bytes, created_at, ready_at, expires_at FROM data_exports \
         WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 10",
    )
    .bind(user_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(super::data_api::ExportInfo {
                id: row.try_get("id")?,
                status: row.try_get("status")?,
                progress: row.try_get("progress")?,
                size_bytes: row.try_get("size_bytes")?,
                created_at: row.try_get("created_at")?,
                ready_at: row.try_get("ready_at")?,
                expires_at: row.try_get("expires_at")?,
            })
        })
        .collect()
}

/// A finished export its owner may download now: the storage key and when it was made.
pub async fn downloadable(
    db: &Database,
    user_id: i64,
    export_id: i64,
    now: i64,
) -> Result<Option<(String, i64)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT file_key, created_at FROM data_exports \
         WHERE id = $1 AND user_id = $2 AND status = 'ready' AND expires_at > $3 AND file_key IS NOT NULL",
    )
    .bind(export_id)
    .bind(user_id)
    .bind(now)
    .fetch_optional(db.pool())
    .await?;
    row.map(|row| Ok((row.try_get("file_key")?, row.try_get("created_at")?)))
        .transpose()
}

/// Deletes the files of exports past their 7 days and marks them expired.
pub async fn purge_expired(db: &Database, media: &MediaStore, now: i64) -> Result<u64, sqlx::Error> {
    crate::platform::archive::purge_expired(db, media, "data_exports", now).await
}

/// The job that builds an export.
pub struct ExportJob {
    pub db: Database,
    pub media: MediaStore,
    pub jobs: JobQueue,
    pub config: Arc<Config>,
}

impl JobHandler for ExportJob {
    fn kind(&self) -> &'static str {
        EXPORT_JOB
    }

    fn run<'a>(&'a self, job: &'a ClaimedJob) -> JobFuture<'a> {
        Box::pin(async move {
            let payload: ExportPayload = job.payload()?;
            let outcome = self.build(payload.export_id).await;
            if outcome.as_ref().is_err_and(|error| job.is_last_try(error)) {
                self.give_up(payload.export_id).await;
            }
            outcome
        })
    }
}

fn retry(error: impl std::fmt::Display) -> JobError {
    JobError::Retry(error.to_string())
}

impl ExportJob {
    async fn build(&self, export_id: i64) -> Result<(), JobError> {
        let row = sqlx::query("SELECT user_id, request_id, status FROM data_exports WHERE id = $1")
            .bind(export_id)
            .fetch_optional(self.db.pool())
            .await
            .map_err(retry)?;
        // The account may have been deleted in the meantime, or a run before a crash
        // finished the work: either way there is nothing left to do.
        let Some(row) = row else { return Ok(()) };
        let status: String = row.try_get("status").map_err(retry)?;
        if !matches!(status.as_str(), "queued" | "building") {
            return Ok(());
        }
        let user_id: i64 = row.try_get("user_id").map_err(retry)?;
        let request_id: Option<i64> = row.try_get("request_id").map_err(retry)?;
        let Some(member) = Member::load(&self.db, user_id).await.map_err(retry)? else {
            return Ok(());
        };
        self.set_progress(export_id, "building", 1).await?;

        let now = now_unix();
        let archive = self.collect(export_id, &member, now).await?;
        let zipped = tokio::task::spawn_blocking(move || archive.zip(now))
            .await
            .map_err(retry)?
            .map_err(|error| JobError::Permanent(format!("could not write the zip: {error}")))?;
        let size = zipped.len() as i64;
        let key = self.media.put_export(Bytes::from(zipped)).await.map_err(retry)?;

        let mut tx = self.db.pool().begin().await.map_err(retry)?;
        let finished = sqlx::query(
            "UPDATE data_exports SET status = 'ready', progress = 100, file_key = $2, size_bytes = $3, ready_at = $4, \
             expires_at = $5 WHERE id = $1 AND status = 'building'",
        )
        .bind(export_id)
        .bind(&key)
        .bind(size)
        .bind(now)
        .bind(now + EXPORT_LIFETIME_SECONDS)
        .execute(&mut *tx)
        .await
        .map_err(retry)?
        .rows_affected();
        if finished == 0 {
            // Another worker finished first: keep its file, not this one.
            drop(tx);
            let _ = self.media.delete(&key).await;
            return Ok(());
        }
        if let Some(request_id) = request_id {
            let outcome = format!(
                "Export ready; downloadable until {}",
                crate::dates::format_day(now + EXPORT_LIFETIME_SECONDS)
            );
            requests::close(&mut tx, request_id, Status::Done, &outcome, now)
                .await
                .map_err(retry)?;
        }
        tx.commit().await.map_err(retry)?;
        tracing::info!(user_id, export_id, bytes = size, "data export ready");

        let notice = mail::templates::export_ready(
            &self.config.site_name,
            &member.email,
            &format!("{}/account/data", self.config.public_url),
            &crate::dates::format_day(now + EXPORT_LIFETIME_SECONDS),
        );
        mail::send(&self.jobs, notice).await.map_err(retry)?;
        Ok(())
    }

    /// Reads every exported category and file, reporting progress as it goes.
    async fn collect(&self, export_id: i64, member: &Member, now: i64) -> Result<Archive, JobError> {
        let mut archive = Archive::default();
        let mut manifest_categories = Vec::new();
        for (index, category) in CATEGORIES.iter().enumerate() {
            let slug = member_data::slug(category.name);
            let (file, rows) = match category.export {
                Export::No(reason) => {
                    manifest_categories.push(json!({
                        "name": category.name,
                        "exported": false,
                        "reason": reason,
                    }));
                    continue;
                }
                Export::Yes | Export::Without { .. } if !member_data::is_linked(category) => continue,
                Export::Yes | Export::Without { .. } => {
                    let rows = member_data::export_rows(&self.db, category, member)
                        .await
                        .map_err(retry)?;
                    (format!("data/{slug}.json"), rows)
                }
            };
            let left_out = match category.export {
                Export::Without { what, .. } => Some(what),
                _ => None,
            };
            manifest_categories.push(json!({
                "name": category.name,
                "exported": true,
                "file": file,
                "records": rows.len(),
                "left_out": left_out,
            }));
            let body = json!({
                "category": category.name,
                "what": category.data,
                "purpose": category.purpose,
                "legal_basis": category.basis.label(),
                "retention": category.retention,
                "records": rows,
            });
            archive.add(&file, pretty_json(&body));
            let progress = 5 + (80 * (index as i64 + 1)) / CATEGORIES.len() as i64;
            self.set_progress(export_id, "building", progress).await?;
        }

        let mut manifest_files = Vec::new();
        for file in member_data::files(&self.db, member)
            .await
            .map_err(retry)?
            .into_iter()
            .filter(|file| file.exported)
        {
            let bytes = self.media.read(&file.key).await.map_err(retry)?;
            let name = file.key.rsplit('/').next().unwrap_or(&file.key);
            let path = format!("media/{}/{name}", member_data::slug(file.category));
            manifest_files.push(json!({ "path": path, "category": file.category, "bytes": bytes.len() }));
            archive.add(&path, bytes.to_vec());
        }
        self.set_progress(export_id, "building", 90).await?;

        let manifest = json!({
            "format": FORMAT,
            "site": self.config.site_name,
            "generated_at": now,
            "generated_on": crate::dates::iso_day(now),
            "member": { "id": member.id, "email": member.email },
            "categories": manifest_categories,
            "files": manifest_files,
            "notes": "Each data/*.json file holds one category of what we store about you, with why we keep it and for how long. Times are Unix seconds (UTC). media/ holds your files as stored. Categories marked exported: false are listed with the reason they are not in the export.",
        });
        archive.add_first("manifest.json", pretty_json(&manifest));
        Ok(archive)
    }

    async fn set_progress(&self, export_id: i64, status: &str, progress: i64) -> Result<(), JobError> {
        sqlx::query(
            "UPDATE data_exports SET status = $2, progress = $3 WHERE id = $1 AND status IN ('queued', 'building')",
        )
        .bind(export_id)
        .bind(status)
        .bind(progress)
        .execute(self.db.pool())
        .await
        .map_err(retry)?;
        Ok(())
    }

    /// The last attempt failed: the member sees "failed" and may ask again at once.
    async fn give_up(&self, export_id: i64) {
        let now = now_unix();
        let result = async {
            let mut tx = self.db.pool().begin().await?;
            let request_id: Option<Option<i64>> = sqlx::query_scalar(
                "UPDATE data_exports SET status = 'failed' WHERE id = $1 AND status IN ('queued', 'building') \
                 RETURNING request_id",
            )
            .bind(export_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(Some(request_id)) = request_id {
                requests::close(
                    &mut tx,
                    request_id,
                    Status::Failed,
                    "The export could not be built; ask again",
                    now,
                )
                .await?;
            }
            tx.commit().await
        }
        .await;
        if let Err(error) = result {
            tracing::error!(%error, export_id, "could not mark an export failed");
        }
    }
}

/// The export's files in the order they go into the zip.
#[derive(Default)]
struct Archive {
    entries: Vec<(String, Vec<u8>)>,
}

impl Archive {
    fn add(&mut self, path: &str, bytes: Vec<u8>) {
        self.entries.push((path.to_owned(), bytes));
    }

    fn add_first(&mut self, path: &str, bytes: Vec<u8>) {
        self.entries.insert(0, (path.to_owned(), bytes));
    }

    fn zip(self, now: i64) -> zip::result::ZipResult<Vec<u8>> {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (path, bytes) in self.entries {
            let options = crate::platform::archive::entry_options(path.starts_with("media/"), now);
            writer.start_file(path, options)?;
            writer.write_all(&bytes)?;
        }
        Ok(writer.finish()?.into_inner())
    }
}
