//! Retention: downloads older than 90 days become per-day totals without anyone's identity,
//! and session addresses are forgotten after a configured window. Idempotent, and safe to
//! run from every instance at once; the maintenance loop runs it every minute.

use crate::platform::db::Database;
use sqlx::Row;
use std::collections::BTreeMap;

/// How long raw usage rows keep their identifiers.
pub const USAGE_DAYS: i64 = 90;
/// Rows handled per transaction, so a large backlog never holds a long lock.
const BATCH: i64 = 2_000;

/// What one run changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RetentionReport {
    pub downloads_rolled_up: u64,
    pub session_addresses_cleared: u64,
}

impl RetentionReport {
    pub fn changed_anything(&self) -> bool {
        self.downloads_rolled_up > 0 || self.session_addresses_cleared > 0
    }
}

/// Applies every retention rule as of `now` (unix seconds).
pub async fn run(db: &Database, now: i64, session_ip_days: u32) -> Result<RetentionReport, sqlx::Error> {
    Ok(RetentionReport {
        downloads_rolled_up: roll_up_downloads(db, now - USAGE_DAYS * 86_400).await?,
        session_addresses_cleared: clear_session_addresses(db, now - i64::from(session_ip_days) * 86_400).await?,
    })
}

/// Moves download rows created before `cutoff` into `download_daily`. The rows are deleted
/// first and the totals built from what the delete returned, inside one transaction: a
/// second instance running at the same moment finds those rows gone (PostgreSQL makes it
/// wait for the first one's locks), so each download is counted into a total exactly once.
async fn roll_up_downloads(db: &Database, cutoff: i64) -> Result<u64, sqlx::Error> {
    let mut moved = 0;
    loop {
        let mut tx = db.pool().begin().await?;
        let rows = sqlx::query(
            "DELETE FROM download_events WHERE id IN \
             (SELECT id FROM download_events WHERE created_at < $1 ORDER BY id LIMIT $2) \
             RETURNING image_id, variant, created_at",
        )
        .bind(cutoff)
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let mut totals: BTreeMap<(i64, String, String), i64> = BTreeMap::new();
        for row in &rows {
            let key = (
                row.try_get::<i64, _>(0)?,
                row.try_get::<String, _>(1)?,
                crate::dates::iso_day(row.try_get::<i64, _>(2)?),
            );
            *totals.entry(key).or_default() += 1;
        }
        for ((image_id, variant, day), downloads) in totals {
            sqlx::query(
                "INSERT INTO download_daily (image_id, variant, day, downloads) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (image_id, variant, day) DO UPDATE SET downloads = download_daily.downloads + excluded.downloads",
            )
            .bind(image_id)
            .bind(variant)
            .bind(day)
            .bind(downloads)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        // A short batch may only mean another instance took some of its rows, so the loop
        // ends on an empty one.
        if rows.is_empty() {
            return Ok(moved);
        }
        moved += rows.len() as u64;
    }
}

/// Forgets the IP address of sessions that started before `cutoff`; the session itself,
/// its device and country stay until it ends.
async fn clear_session_addresses(db: &Database, cutoff: i64) -> Result<u64, sqlx::Error> {
    let result = sqlx::query("UPDATE sessions SET ip = NULL WHERE ip IS NOT NULL AND created_at < $1")
        .bind(cutoff)
        .execute(db.pool())
        .await?;
    Ok(result.rows_affected())
}
