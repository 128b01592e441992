//! What the zip exports (a member's data, a collection) share: the options each entry is
//! written with, and removing export files once their time is up.

use super::{db::Database, media::MediaStore};
use sqlx::Row;
use zip::{write::SimpleFileOptions, CompressionMethod, DateTime};

/// How an entry goes into a zip: already-compressed media is stored as it is (deflating it
/// again only costs time), text is deflated; every entry carries the export's time.
pub fn entry_options(compressed_already: bool, now: i64) -> SimpleFileOptions {
    let method = if compressed_already {
        CompressionMethod::Stored
    } else {
        CompressionMethod::Deflated
    };
    SimpleFileOptions::default()
        .compression_method(method)
        .last_modified_time(zip_time(now))
}

/// A JSON document as an export writes it: indented for people, with a final newline.
pub fn pretty_json(value: &serde_json::Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// `now` (Unix seconds, UTC) as a zip timestamp, which has no zone and starts in 1980.
fn zip_time(now: i64) -> DateTime {
    let (year, month, day) = crate::dates::date_of(now);
    let seconds = now.rem_euclid(86_400);
    DateTime::from_date_and_time(
        u16::try_from(year).unwrap_or(1980),
        month as u8,
        day as u8,
        (seconds / 3600) as u8,
        (seconds % 3600 / 60) as u8,
        (seconds % 60) as u8,
    )
    .unwrap_or_default()
}

/// Deletes the files of `table`'s exports whose `expires_at` has passed and marks them
/// `expired`. The table has `id`, `status`, `file_key` and `expires_at` columns. A file
/// that cannot be deleted keeps its row `ready` (and past its date, so not downloadable)
/// for the next round to try again.
pub async fn purge_expired(
    db: &Database,
    media: &MediaStore,
    table: &'static str,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let due = sqlx::query(&format!(
        "SELECT id, file_key FROM {table} WHERE status = 'ready' AND expires_at <= $1"
    ))
    .bind(now)
    .fetch_all(db.pool())
    .await?;
    let mut expired = 0;
    for row in due {
        let id: i64 = row.try_get("id")?;
        if let Some(key) = row.try_get::<Option<String>, _>("file_key")? {
            if let Err(error) = media.delete(&key).await {
                tracing::warn!(%error, table, export_id = id, "could not delete an expired export");
                continue;
            }
        }
        expired += sqlx::query(&format!(
            "UPDATE {table} SET status = 'expired', file_key = NULL WHERE id = $1 AND status = 'ready'"
        ))
        .bind(id)
        .execute(db.pool())
        .await?
        .rows_affected();
    }
    Ok(expired)
}
