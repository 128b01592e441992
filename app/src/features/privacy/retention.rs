//! Retention: downloads, page views and searches older than 90 days become per-day totals
//! without anyone's identity, session addresses are forgotten after a configured window,
//! and cookie decisions are deleted once the consent they prove has lapsed. Idempotent, and
//! safe to run from every instance at once; the maintenance loop runs it every minute.

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
    pub usage_events_rolled_up: u64,
    pub session_addresses_cleared: u64,
    pub consent_records_deleted: u64,
}

impl RetentionReport {
    pub fn changed_anything(&self) -> bool {
        self.downloads_rolled_up > 0
            || self.usage_events_rolled_up > 0
            || self.session_addresses_cleared > 0
            || self.consent_records_deleted > 0
    }
}

/// Applies every retention rule as of `now` (unix seconds).
pub async fn run(db: &Database, now: i64, session_ip_days: u32) -> Result<RetentionReport, sqlx::Error> {
    let usage_cutoff = now - USAGE_DAYS * 86_400;
    Ok(RetentionReport {
        downloads_rolled_up: roll_up::<DownloadTotal>(db, usage_cutoff).await?,
        usage_events_rolled_up: roll_up::<UsageTotal>(db, usage_cutoff).await?,
        session_addresses_cleared: clear_session_addresses(db, now - i64::from(session_ip_days) * 86_400).await?,
        consent_records_deleted: delete_consent_records(db, now - super::service::RECORD_SECONDS).await?,
    })
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// A raw table whose old rows become per-day totals: what identifies a total besides its
/// day, and the two statements that move rows into it.
trait DailyTotal: Ord + Sized {
    /// Deletes up to `$2` rows created before `$1`, returning the two key columns and
    /// `created_at`.
    const TAKE: &'static str;
    /// Adds `$4` to the total for the key (`$1`, `$2`) and day `$3`.
    const ADD: &'static str;
    fn read(row: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error>;
    fn bind(self, query: AnyQuery<'_>) -> AnyQuery<'_>;
}

/// Downloads per image, size and day (`download_daily`).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct DownloadTotal(i64, String);

impl DailyTotal for DownloadTotal {
    const TAKE: &'static str = "DELETE FROM download_events WHERE id IN \
         (SELECT id FROM download_events WHERE created_at < $1 ORDER BY id LIMIT $2) \
         RETURNING image_id, variant, created_at";
    const ADD: &'static str = "INSERT INTO download_daily (image_id, variant, day, downloads) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (image_id, variant, day) DO UPDATE SET downloads = download_daily.downloads + excluded.downloads";
    fn read(row: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self(row.try_get(0)?, row.try_get(1)?))
    }
    fn bind(self, query: AnyQuery<'_>) -> AnyQuery<'_> {
        query.bind(self.0).bind(self.1)
    }
}

/// Page views and searches per kind, subject and day (`usage_daily`).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct UsageTotal(String, String);

impl DailyTotal for UsageTotal {
    const TAKE: &'static str = "DELETE FROM usage_events WHERE id IN \
         (SELECT id FROM usage_events WHERE created_at < $1 ORDER BY id LIMIT $2) \
         RETURNING kind, subject, created_at";
    const ADD: &'static str = "INSERT INTO usage_daily (kind, subject, day, events) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (kind, subject, day) DO UPDATE SET events = usage_daily.events + excluded.events";
    fn read(row: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self(row.try_get(0)?, row.try_get(1)?))
    }
    fn bind(self, query: AnyQuery<'_>) -> AnyQuery<'_> {
        query.bind(self.0).bind(self.1)
    }
}

/// Moves rows created before `cutoff` into their per-day totals. The rows are deleted
/// first and the totals built from what the delete returned, inside one transaction: a
/// second instance running at the same moment finds those rows gone (PostgreSQL makes it
/// wait for the first one's locks), so each row is counted into a total exactly once.
async fn roll_up<T: DailyTotal>(db: &Database, cutoff: i64) -> Result<u64, sqlx::Error> {
    let mut moved = 0;
    loop {
        let mut tx = db.pool().begin().await?;
        let rows = sqlx::query(T::TAKE)
            .bind(cutoff)
            .bind(BATCH)
            .fetch_all(&mut *tx)
            .await?;
        let mut totals: BTreeMap<(T, String), i64> = BTreeMap::new();
        for row in &rows {
            let day = crate::dates::iso_day(row.try_get::<i64, _>(2)?);
            *totals.entry((T::read(row)?, day)).or_default() += 1;
        }
        for ((key, day), count) in totals {
            key.bind(sqlx::query(T::ADD))
                .bind(day)
                .bind(count)
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

/// Deletes cookie decisions made before `cutoff` ([`super::service::RECORD_SECONDS`] ago):
/// by then the consent cookie carrying the choice has expired, so the record proves nothing
/// that still applies. In batches, so a large backlog never holds a long lock.
async fn delete_consent_records(db: &Database, cutoff: i64) -> Result<u64, sqlx::Error> {
    let mut deleted = 0;
    loop {
        let result = sqlx::query(
            "DELETE FROM consent_records WHERE id IN \
             (SELECT id FROM consent_records WHERE decided_at < $1 ORDER BY id LIMIT $2)",
        )
        .bind(cutoff)
        .bind(BATCH)
        .execute(db.pool())
        .await?;
        if result.rows_affected() == 0 {
            return Ok(deleted);
        }
        deleted += result.rows_affected();
    }
}
