//! The credit ledger (server only): every change to a member's balance is an entry with a
//! reason, a reference and a unique idempotency key, written in the same transaction as
//! the balance it explains. A spend is one conditional UPDATE (`balance + amount >= 0`),
//! so concurrent spends can never take more than there is, on either database; a retried
//! call with the same key changes nothing and returns the entry the first call made.
//! Entries are never changed (a database trigger refuses updates): corrections are new
//! entries. Each change also comes in an `_on` form that writes on the caller's
//! connection, inside the caller's transaction (as a savepoint), so work and its payment
//! can be committed together or not at all.

use super::{LedgerEntry, Reason};
use crate::platform::db::Database;
use sqlx::{any::AnyRow, AnyConnection, Connection, Row};

/// Longest idempotency key or reference, in bytes.
pub const MAX_KEY_LEN: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("not enough credits: {needed} needed, {balance} left")]
    Insufficient { balance: i64, needed: i64 },
    /// The key was used before for a different change (another member, amount or reason).
    #[error("the idempotency key {0} was used for a different change")]
    KeyConflict(String),
    /// A refund names a spend that does not exist for this member.
    #[error("there is no such spend to refund")]
    NoSuchSpend,
    #[error("{0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

type Result<T> = std::result::Result<T, LedgerError>;

/// What a call recorded: a new entry, or the one an earlier call with the same key made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub entry: LedgerEntry,
    /// True when the key had been used already and nothing changed now.
    pub replayed: bool,
}

const ENTRY_COLUMNS: &str = "id, user_id, amount, reason, reference, balance_after, created_at";

/// Adds `amount` (> 0) credits for a reason that adds them (a plan's month, a pack, an
/// adjustment).
pub async fn grant(
    db: &Database,
    user_id: i64,
    amount: i64,
    reason: Reason,
    reference: &str,
    key: &str,
    now: i64,
) -> Result<Recorded> {
    grant_on(
        &mut *db.pool().acquire().await?,
        user_id,
        amount,
        reason,
        reference,
        key,
        now,
    )
    .await
}

/// [`grant`] on the caller's connection (and inside its transaction, if it has one).
pub async fn grant_on(
    conn: &mut AnyConnection,
    user_id: i64,
    amount: i64,
    reason: Reason,
    reference: &str,
    key: &str,
    now: i64,
) -> Result<Recorded> {
    if amount <= 0 || !reason.adds() {
        return Err(LedgerError::Invalid("a grant adds a positive number of credits"));
    }
    record(conn, user_id, amount, reason, reference, key, now).await
}

/// Takes `amount` (> 0) credits for work, or refuses with [`LedgerError::Insufficient`]
/// and changes nothing.
pub async fn spend(
    db: &Database,
    user_id: i64,
    amount: i64,
    reason: Reason,
    reference: &str,
    key: &str,
    now: i64,
) -> Result<Recorded> {
    spend_on(
        &mut *db.pool().acquire().await?,
        user_id,
        amount,
        reason,
        reference,
        key,
        now,
    )
    .await
}

/// [`spend`] on the caller's connection. Inside the caller's transaction the spend is
/// committed with the work it pays for, or rolled back with it: there is no moment at
/// which one exists without the other.
pub async fn spend_on(
    conn: &mut AnyConnection,
    user_id: i64,
    amount: i64,
    reason: Reason,
    reference: &str,
    key: &str,
    now: i64,
) -> Result<Recorded> {
    if amount <= 0 || reason.adds() {
        return Err(LedgerError::Invalid(
            "a spend takes a positive number of credits for work",
        ));
    }
    record(conn, user_id, -amount, reason, reference, key, now).await
}

/// Gives back the spend recorded under `spend_key`, exactly once however often it is
/// called (its own key is `refund:<spend_key>`).
pub async fn refund(db: &Database, user_id: i64, spend_key: &str, now: i64) -> Result<Recorded> {
    refund_on(&mut *db.pool().acquire().await?, user_id, spend_key, now).await
}

/// [`refund`] on the caller's connection. Inside the caller's transaction the spend is
/// looked up in that transaction, so a spend the same transaction (or one committed before
/// it) wrote is always found, and the refund commits with whatever ended the work.
pub async fn refund_on(conn: &mut AnyConnection, user_id: i64, spend_key: &str, now: i64) -> Result<Recorded> {
    let spent = find(&mut *conn, spend_key).await?;
    let Some(spent) = spent.filter(|(owner, entry)| *owner == user_id && entry.amount < 0 && !entry.reason.adds())
    else {
        return Err(LedgerError::NoSuchSpend);
    };
    let key = format!("refund:{spend_key}");
    record(conn, user_id, -spent.1.amount, Reason::Refund, spend_key, &key, now).await
}

/// The member's balance now (0 for a member who never had credits).
pub async fn balance(db: &Database, user_id: i64) -> Result<i64> {
    let balance: Option<i64> = sqlx::query_scalar("SELECT balance FROM credit_accounts WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(balance.unwrap_or(0))
}

/// A page of the member's history, newest first, and whether there is more.
pub async fn history(db: &Database, user_id: i64, page: u32, per_page: u32) -> Result<(Vec<LedgerEntry>, bool)> {
    let rows = sqlx::query(&format!(
        "SELECT {ENTRY_COLUMNS} FROM credit_ledger WHERE user_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3"
    ))
    .bind(user_id)
    .bind(i64::from(per_page) + 1)
    .bind(i64::from(page.saturating_sub(1)) * i64::from(per_page))
    .fetch_all(db.pool())
    .await?;
    let has_more = rows.len() > per_page as usize;
    let entries = rows
        .iter()
        .take(per_page as usize)
        .map(|row| entry_from_row(row).map(|(_, entry)| entry))
        .collect::<Result<_>>()?;
    Ok((entries, has_more))
}

fn entry_from_row(row: &AnyRow) -> Result<(i64, LedgerEntry)> {
    let code: String = row.try_get("reason")?;
    let reason = Reason::parse(&code).ok_or(LedgerError::Invalid("an entry has an unknown reason"))?;
    Ok((
        row.try_get("user_id")?,
        LedgerEntry {
            id: row.try_get("id")?,
            amount: row.try_get("amount")?,
            reason,
            reference: row.try_get("reference")?,
            balance_after: row.try_get("balance_after")?,
            created_at: row.try_get("created_at")?,
        },
    ))
}

/// The entry recorded under `key`, with its member.
async fn find(conn: &mut AnyConnection, key: &str) -> Result<Option<(i64, LedgerEntry)>> {
    let row = sqlx::query(&format!(
        "SELECT {ENTRY_COLUMNS} FROM credit_ledger WHERE idempotency_key = $1"
    ))
    .bind(key)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(entry_from_row).transpose()
}

/// The earlier entry under the same key, if it records the same change.
fn replay(found: (i64, LedgerEntry), user_id: i64, amount: i64, reason: Reason, key: &str) -> Result<Recorded> {
    let (owner, entry) = found;
    if owner != user_id || entry.amount != amount || entry.reason != reason {
        return Err(LedgerError::KeyConflict(key.to_owned()));
    }
    Ok(Recorded { entry, replayed: true })
}

/// Writes one entry and its balance change in a transaction of its own on `conn`: a real
/// one on a bare connection, a savepoint inside the caller's, so a refusal or a lost race
/// here undoes only this call's writes and leaves the caller's transaction usable.
async fn record(
    conn: &mut AnyConnection,
    user_id: i64,
    amount: i64,
    reason: Reason,
    reference: &str,
    key: &str,
    now: i64,
) -> Result<Recorded> {
    if key.is_empty() || key.len() > MAX_KEY_LEN || reference.len() > MAX_KEY_LEN {
        return Err(LedgerError::Invalid("keys and references are 1 to 200 bytes"));
    }
    let mut tx = conn.begin().await?;
    // A write first: SQLite takes its write lock here rather than failing to upgrade a
    // read lock later, and the member's balance row exists from now on.
    sqlx::query("INSERT INTO credit_accounts (user_id, balance, updated_at) VALUES ($1, 0, $2) ON CONFLICT (user_id) DO NOTHING")
        .bind(user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    // A key used before: the earlier entry, and nothing changes (looked up once, under
    // the write lock on SQLite; PostgreSQL's unique index settles a race below).
    if let Some(found) = find(&mut tx, key).await? {
        tx.rollback().await?;
        return replay(found, user_id, amount, reason, key);
    }
    // The check and the change in one statement: PostgreSQL re-checks the condition on the
    // latest row after waiting for its lock, SQLite runs one writer at a time.
    let balance_after: Option<i64> = sqlx::query_scalar(
        "UPDATE credit_accounts SET balance = balance + $2, updated_at = $3 WHERE user_id = $1 AND balance + $2 >= 0 \
         RETURNING balance",
    )
    .bind(user_id)
    .bind(amount)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(balance_after) = balance_after else {
        let balance: i64 = sqlx::query_scalar("SELECT balance FROM credit_accounts WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
        tx.rollback().await?;
        return Err(LedgerError::Insufficient {
            balance,
            needed: -amount,
        });
    };
    let inserted = sqlx::query_scalar::<_, i64>(
        "INSERT INTO credit_ledger (user_id, amount, reason, reference, idempotency_key, balance_after, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(user_id)
    .bind(amount)
    .bind(reason.code())
    .bind(reference)
    .bind(key)
    .bind(balance_after)
    .bind(now)
    .fetch_one(&mut *tx)
    .await;
    let id = match inserted {
        Ok(id) => id,
        // The same key at the same moment on PostgreSQL: the other call won. This one's
        // balance change is rolled back with its transaction (or savepoint), and the
        // winner's entry read on the same connection, which is usable again.
        Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
            tx.rollback().await?;
            return match find(conn, key).await? {
                Some(found) => replay(found, user_id, amount, reason, key),
                None => Err(LedgerError::KeyConflict(key.to_owned())),
            };
        }
        Err(error) => return Err(error.into()),
    };
    tx.commit().await?;
    Ok(Recorded {
        entry: LedgerEntry {
            id,
            amount,
            reason,
            reference: reference.to_owned(),
            balance_after,
            created_at: now,
        },
        replayed: false,
    })
}
