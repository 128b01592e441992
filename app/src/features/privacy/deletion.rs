//! Account deletion: asking signs the member out everywhere at once and starts a grace
//! period they can cancel by signing in again; when it ends, every row the inventory ties
//! to them is deleted or anonymised in one transaction, their files are removed, and a
//! tombstone (id and date) is all that remains.

use super::{
    member_data::{self, Erased, Member},
    requests::{self, Kind, Status},
};
use crate::{
    features::billing::stripe::Payments,
    platform::{db::Database, media::MediaStore},
};
use sqlx::Row;

const DAY: i64 = 86_400;
/// Accounts deleted per maintenance round; the rest wait a minute.
const BATCH: i64 = 20;

/// Schedules the deletion `grace_days` from `now` and ends every session of the account.
/// Asking again while one is scheduled keeps the first date. Returns when it happens.
pub async fn schedule(db: &Database, user_id: i64, now: i64, grace_days: u32) -> Result<i64, sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    // Two requests at once would each find none scheduled.
    crate::platform::db::lock_member(&mut tx, db.backend(), user_id).await?;
    let existing: Option<i64> = sqlx::query_scalar("SELECT due_at FROM account_deletions WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
    let due_at = match existing {
        Some(due_at) => due_at,
        None => {
            let due_at = now + i64::from(grace_days) * DAY;
            let request_id = requests::open(&mut tx, user_id, Kind::Deletion, now).await?;
            sqlx::query(
                "INSERT INTO account_deletions (user_id, request_id, requested_at, due_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(user_id)
            .bind(request_id)
            .bind(now)
            .bind(due_at)
            .execute(&mut *tx)
            .await?;
            due_at
        }
    };
    let sessions = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    tracing::info!(user_id, sessions_ended = sessions, due_at, "account deletion scheduled");
    Ok(due_at)
}

/// When the account's deletion is due, if one is scheduled.
pub async fn scheduled(db: &Database, user_id: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT due_at FROM account_deletions WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(db.pool())
        .await
}

/// Cancels a scheduled deletion; the account stays as it is. Returns whether one was.
/// Only inside the grace period: once it has ended the deletion may be under way (its
/// Stripe customer deleted first), so it can no longer be stopped halfway.
pub async fn cancel(db: &Database, user_id: i64, now: i64) -> Result<bool, sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    let request_id: Option<Option<i64>> =
        sqlx::query_scalar("DELETE FROM account_deletions WHERE user_id = $1 AND due_at > $2 RETURNING request_id")
            .bind(user_id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(request_id) = request_id else {
        return Ok(false);
    };
    if let Some(request_id) = request_id {
        requests::close(
            &mut tx,
            request_id,
            Status::Withdrawn,
            "Cancelled by the member during the grace period",
            now,
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(user_id, "account deletion cancelled");
    Ok(true)
}

/// What one account's deletion did.
#[derive(Clone, Debug)]
pub struct DeletedAccount {
    pub user_id: i64,
    pub erased: Vec<Erased>,
    pub files_removed: usize,
}

/// Deletes the accounts whose grace period ended by `now`. Safe to run on several
/// instances at once: each account is claimed by deleting its schedule row inside the
/// transaction that deletes its data, so only one instance does it.
/// With payments configured, the member's Stripe customer is deleted first (which ends any
/// subscription there); while Stripe cannot be reached the account waits for the next run.
pub async fn run_due(
    db: &Database,
    media: &MediaStore,
    payments: Option<&Payments>,
    now: i64,
) -> Result<Vec<DeletedAccount>, sqlx::Error> {
    let due = sqlx::query("SELECT user_id FROM account_deletions WHERE due_at <= $1 ORDER BY due_at LIMIT $2")
        .bind(now)
        .bind(BATCH)
        .fetch_all(db.pool())
        .await?;
    let mut deleted = Vec::new();
    for row in due {
        let user_id: i64 = row.try_get("user_id")?;
        if !delete_stripe_customer(db, payments, user_id).await? {
            continue;
        }
        if let Some(account) = delete_account(db, media, user_id, now).await? {
            deleted.push(account);
        }
    }
    Ok(deleted)
}

/// Whether the member has no Stripe customer left (none, or deleted now).
async fn delete_stripe_customer(db: &Database, payments: Option<&Payments>, user_id: i64) -> Result<bool, sqlx::Error> {
    let Some(customer) = crate::features::billing::account::customer_of(db, user_id).await? else {
        return Ok(true);
    };
    let Some(payments) = payments else {
        // The customer (and any subscription) would be left at Stripe, still charged.
        tracing::error!(
            user_id,
            "an account with a Stripe customer is due for deletion, but payments are not configured: \
             configure ATELIER_STRIPE_* so the customer can be deleted too; the account waits"
        );
        return Ok(false);
    };
    match payments.delete_customer(&customer).await {
        Ok(()) => Ok(true),
        Err(error) => {
            tracing::warn!(user_id, %error, "the Stripe customer could not be deleted yet; the account waits");
            Ok(false)
        }
    }
}

async fn delete_account(
    db: &Database,
    media: &MediaStore,
    user_id: i64,
    now: i64,
) -> Result<Option<DeletedAccount>, sqlx::Error> {
    let Some(member) = Member::load(db, user_id).await? else {
        return Ok(None);
    };
    let files = member_data::files(db, &member).await?;
    let mut tx = db.pool().begin().await?;
    let claimed: Option<Option<i64>> =
        sqlx::query_scalar("DELETE FROM account_deletions WHERE user_id = $1 AND due_at <= $2 RETURNING request_id")
            .bind(user_id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
    // Cancelled in the meantime, or another instance has it.
    let Some(request_id) = claimed else {
        return Ok(None);
    };
    // Corrections nobody answered yet have no one left to answer; they close first, while
    // they still name the member.
    requests::withdraw_open(&mut tx, user_id, "The account was deleted before an answer", now).await?;
    let erased = member_data::erase(&mut tx, &member).await?;
    if let Some(request_id) = request_id {
        requests::close(
            &mut tx,
            request_id,
            Status::Done,
            "The account and everything it held were deleted",
            now,
        )
        .await?;
    }
    sqlx::query("INSERT INTO account_tombstones (user_id, deleted_at) VALUES ($1, $2)")
        .bind(user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;

    // Files go after the rows: a file whose row survived a failed transaction must stay.
    let mut files_removed = 0;
    for file in files {
        if member_data::remove_if_unused(db, media, &file.key).await? {
            files_removed += 1;
        }
    }
    tracing::info!(
        user_id,
        tables = erased.len(),
        rows = erased.iter().map(|e| e.rows).sum::<u64>(),
        files_removed,
        "account deleted"
    );
    Ok(Some(DeletedAccount {
        user_id,
        erased,
        files_removed,
    }))
}
