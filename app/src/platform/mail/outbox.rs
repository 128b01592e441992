//! The embedded mail transport: messages land in the `mail_outbox` table, where admins read
//! them at /admin/outbox and `server mail latest --to` prints them. Kept for 7 days.

use super::OutgoingMail;
use crate::platform::{clock::now_unix, db::Database};
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// How long outbox rows are kept: they contain sign-in links.
pub const RETENTION_SECONDS: i64 = 7 * 24 * 3600;

/// One stored message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMail {
    pub id: i64,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub created_at: i64,
}

pub async fn store(db: &Database, mail: &OutgoingMail) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO mail_outbox (to_address, subject, text_body, html_body, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&mail.to)
    .bind(&mail.subject)
    .bind(&mail.text)
    .bind(&mail.html)
    .bind(now_unix())
    .execute(db.pool())
    .await?;
    Ok(())
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<OutboxMail, sqlx::Error> {
    Ok(OutboxMail {
        id: row.try_get("id")?,
        to: row.try_get("to_address")?,
        subject: row.try_get("subject")?,
        text: row.try_get("text_body")?,
        html: row.try_get("html_body")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Newest first, optionally only those to one address (compared case-insensitively).
pub async fn latest(db: &Database, to: Option<&str>, limit: i64) -> Result<Vec<OutboxMail>, sqlx::Error> {
    let to = to.map(|address| address.trim().to_lowercase()).unwrap_or_default();
    let rows = sqlx::query(
        "SELECT id, to_address, subject, text_body, html_body, created_at FROM mail_outbox \
         WHERE ($1 = '' OR LOWER(to_address) = $1) ORDER BY id DESC LIMIT $2",
    )
    .bind(to)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn purge_old(db: &Database) -> Result<u64, sqlx::Error> {
    let result = sqlx::query("DELETE FROM mail_outbox WHERE created_at < $1")
        .bind(now_unix() - RETENTION_SECONDS)
        .execute(db.pool())
        .await?;
    Ok(result.rows_affected())
}
