//! Single-use links sent by mail: email verification, password reset and change of email.
//! The database keeps only the token's SHA-256; a token works once and expires.

use super::session::hash_token;
use crate::platform::{clock::now_unix, db::Database};
use sqlx::Row;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
    ChangeEmail,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::ResetPassword => "reset_password",
            Purpose::ChangeEmail => "change_email",
        }
    }

    /// Verification links live a day; a reset link an hour, as it signs the bearer in.
    pub fn lifetime_seconds(self) -> i64 {
        match self {
            Purpose::VerifyEmail | Purpose::ChangeEmail => 24 * 3600,
            Purpose::ResetPassword => 3600,
        }
    }
}

/// What a valid token stood for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redeemed {
    pub user_id: i64,
    pub email: String,
}

fn generate() -> String {
    crate::platform::secrets::random_hex(32)
}

fn well_formed(token: &str) -> bool {
    crate::platform::secrets::is_secret_shape(token)
}

/// Issues a token for `email`; earlier unused tokens of the same purpose stop working, so
/// only the newest mail's link is valid.
pub async fn issue(db: &Database, user_id: i64, purpose: Purpose, email: &str) -> Result<String, sqlx::Error> {
    let token = generate();
    let now = now_unix();
    let mut tx = db.pool().begin().await?;
    sqlx::query("DELETE FROM account_tokens WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL")
        .bind(user_id)
        .bind(purpose.as_str())
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO account_tokens (token_hash, user_id, purpose, email, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(hash_token(&token))
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(email)
    .bind(now)
    .bind(now + purpose.lifetime_seconds())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// Marks the token used and returns what it stood for, or `None` when it is unknown, used,
/// expired or for another purpose. One statement, so two clicks cannot both succeed.
pub async fn redeem(db: &Database, token: &str, purpose: Purpose) -> Result<Option<Redeemed>, sqlx::Error> {
    if !well_formed(token) {
        return Ok(None);
    }
    let now = now_unix();
    let row = sqlx::query(
        "UPDATE account_tokens SET used_at = $1 \
         WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 \
         RETURNING user_id, email",
    )
    .bind(now)
    .bind(hash_token(token))
    .bind(purpose.as_str())
    .fetch_optional(db.pool())
    .await?;
    row.map(|row| {
        Ok(Redeemed {
            user_id: row.try_get("user_id")?,
            email: row.try_get("email")?,
        })
    })
    .transpose()
}

/// Whether a token would currently be accepted, without using it (to show the right page).
pub async fn is_valid(db: &Database, token: &str, purpose: Purpose) -> Result<bool, sqlx::Error> {
    if !well_formed(token) {
        return Ok(false);
    }
    let found = sqlx::query_scalar::<_, i64>(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM account_tokens \
         WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(hash_token(token))
    .bind(purpose.as_str())
    .bind(now_unix())
    .fetch_one(db.pool())
    .await?;
    Ok(found > 0)
}

/// Removes expired and used tokens older than a day (run periodically).
pub async fn purge(db: &Database) -> Result<u64, sqlx::Error> {
    let now = now_unix();
    let result = sqlx::query("DELETE FROM account_tokens WHERE expires_at <= $1 OR used_at < $2")
        .bind(now)
        .bind(now - 24 * 3600)
        .execute(db.pool())
        .await?;
    Ok(result.rows_affected())
}

/// The new address of a change that is waiting for confirmation, if any.
pub async fn pending_email_change(db: &Database, user_id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT email FROM account_tokens WHERE user_id = $1 AND purpose = 'change_email' \
         AND used_at IS NULL AND expires_at > $2 ORDER BY created_at DESC LIMIT 1",
    )
    .bind(user_id)
    .bind(now_unix())
    .fetch_optional(db.pool())
    .await
}
