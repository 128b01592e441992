//! Server-side account logic: validated user creation, argon2id password hashing, age and
//! password rules, and the changes a member makes to their own account.

use super::Role;
use crate::platform::{clock::now_unix, db::Database};
use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};
use sqlx::Row;

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{message}")]
    Invalid { field: &'static str, message: String },
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error("the email or password is incorrect")]
    BadCredentials,
}

/// A new account as entered; validated by [`create_user`].
pub struct NewUser<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub password: &'a str,
    pub role: Role,
    /// Operators create verified accounts; sign-ups verify by email.
    pub email_verified: bool,
}

/// Argon2id with the crate's recommended parameters (m=19456 KiB, t=2, p=1).
fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// Hashes on a blocking thread: argon2 takes tens of milliseconds of CPU by design.
pub async fn hash_password(password: String) -> Result<String, AccountError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| AccountError::Hashing(error.to_string()))
    })
    .await
    .map_err(|error| AccountError::Hashing(error.to_string()))?
}

/// Whether a stored hash used weaker parameters than today's and should be replaced.
pub fn needs_rehash(stored: &str) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else {
        return true;
    };
    let current = Params::default();
    let param = |name: &str| hash.params.get_decimal(name).unwrap_or(0);
    hash.algorithm.as_str() != "argon2id"
        || param("m") < current.m_cost()
        || param("t") < current.t_cost()
        || param("p") < current.p_cost()
}

/// Checks a password against a PHC hash on a blocking thread.
async fn verify_password(stored: String, password: String) -> Result<bool, AccountError> {
    tokio::task::spawn_blocking(move || {
        let hash = PasswordHash::new(&stored).map_err(|e| AccountError::Hashing(e.to_string()))?;
        Ok(Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
    })
    .await
    .map_err(|error| AccountError::Hashing(error.to_string()))?
}

/// A hash of nothing in particular, verified when the email is unknown so that a wrong email
/// and a wrong password take the same time.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(b"decoy password for timing", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Checks an email and password; on success returns the user id, re-hashing the password
/// first when its parameters are older than today's.
pub async fn authenticate(db: &Database, email: &str, password: &str) -> Result<i64, AccountError> {
    let email = email.trim().to_lowercase();
    let row = sqlx::query("SELECT id, password_hash FROM users WHERE email = $1")
        .bind(&email)
        .fetch_optional(db.pool())
        .await?;
    let Some(row) = row else {
        verify_password(decoy_hash().to_owned(), password.to_owned()).await?;
        return Err(AccountError::BadCredentials);
    };
    let user_id: i64 = row.try_get("id")?;
    let stored: String = row.try_get("password_hash")?;
    if !verify_password(stored.clone(), password.to_owned()).await? {
        return Err(AccountError::BadCredentials);
    }
    if needs_rehash(&stored) {
        let fresh = hash_password(password.to_owned()).await?;
        sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3 AND password_hash = $4")
            .bind(fresh)
            .bind(now_unix())
            .bind(user_id)
            .bind(stored)
            .execute(db.pool())
            .await?;
        tracing::info!(user_id, "password re-hashed with current argon2 parameters");
    }
    Ok(user_id)
}

fn invalid(field: &'static str, message: impl Into<String>) -> AccountError {
    AccountError::Invalid {
        field,
        message: message.into(),
    }
}

pub fn check_display_name(raw: &str) -> Result<&str, AccountError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(invalid("display_name", "Use a name of 1 to 80 characters."));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid(
            "display_name",
            "The name contains characters that cannot be shown.",
        ));
    }
    Ok(name)
}

/// Refuses birth dates below the minimum age. The date is checked and then forgotten: it is
/// never stored.
pub fn check_age(birth_date: &str, today_unix: i64, min_age: u32) -> Result<(), AccountError> {
    use crate::dates::{age_on, date_of, parse_iso_date};
    let Some(birth) = parse_iso_date(birth_date) else {
        return Err(invalid(
            "birth_date",
            "Enter your date of birth, for example 2001-04-30.",
        ));
    };
    let age = age_on(birth, date_of(today_unix));
    if !(0..=130).contains(&age) {
        return Err(invalid("birth_date", "Enter your real date of birth."));
    }
    if age < i64::from(min_age) {
        return Err(invalid(
            "birth_date",
            format!("You must be at least {min_age} years old to create an account."),
        ));
    }
    Ok(())
}

/// A member's own account, as the account page shows it.
pub struct AccountRecord {
    pub email: String,
    pub display_name: String,
    pub bio: String,
    pub download_size: String,
    pub email_verified: bool,
    pub password_hash: String,
    /// Media key of the avatar, if any.
    pub avatar_key: Option<String>,
}

pub async fn account(db: &Database, user_id: i64) -> Result<AccountRecord, sqlx::Error> {
    let row = sqlx::query(
        "SELECT email, display_name, bio, download_size, email_verified_at, password_hash, avatar_key FROM users WHERE id = $1",
    )
    .bind(user_id)
    .fetch_one(db.pool())
    .await?;
    Ok(AccountRecord {
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        bio: row.try_get("bio")?,
        download_size: row.try_get("download_size")?,
        email_verified: row.try_get::<Option<i64>, _>("email_verified_at")?.is_some(),
        password_hash: row.try_get("password_hash")?,
        avatar_key: row.try_get("avatar_key")?,
    })
}

/// Points the member's avatar at a stored media key and returns the key it replaced, so
/// the caller can remove that file when nothing else uses it (keys are content addresses
/// another member's avatar may share).
pub async fn set_avatar(db: &Database, user_id: i64, key: &str) -> Result<Option<String>, sqlx::Error> {
    replace_avatar(db, user_id, Some(key)).await
}

/// Back to initials; returns the key that was in use, as [`set_avatar`] does.
pub async fn clear_avatar(db: &Database, user_id: i64) -> Result<Option<String>, sqlx::Error> {
    replace_avatar(db, user_id, None).await
}

async fn replace_avatar(db: &Database, user_id: i64, key: Option<&str>) -> Result<Option<String>, sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    // Two changes at once would each read the same previous avatar, and one replaced file
    // would never be reported for clean-up.
    crate::platform::db::lock_member(&mut tx, db.backend(), user_id).await?;
    let previous: Option<Option<String>> = sqlx::query_scalar("SELECT avatar_key FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
    sqlx::query("UPDATE users SET avatar_key = $1, updated_at = $2 WHERE id = $3")
        .bind(key)
        .bind(now_unix())
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(previous.flatten().filter(|previous| Some(previous.as_str()) != key))
}

/// The id and display name behind an email address, if there is an account.
pub async fn find_by_email(db: &Database, email: &str) -> Result<Option<(i64, String)>, sqlx::Error> {
    let row = sqlx::query("SELECT id, display_name FROM users WHERE email = $1")
        .bind(email.trim().to_lowercase())
        .fetch_optional(db.pool())
        .await?;
    row.map(|row| Ok((row.try_get("id")?, row.try_get("display_name")?)))
        .transpose()
}

/// Checks a member's current password (for changes that need it), slowly, like sign-in.
pub async fn password_matches(db: &Database, user_id: i64, password: &str) -> Result<bool, AccountError> {
    let stored = account(db, user_id).await?.password_hash;
    verify_password(stored, password.to_owned()).await
}

/// Replaces the password after checking the strength rule.
pub async fn set_password(db: &Database, user_id: i64, password: &str) -> Result<(), AccountError> {
    check_password_strength(password)?;
    let hash = hash_password(password.to_owned()).await?;
    sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(now_unix())
        .bind(user_id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Marks the address verified, if it is still the account's address.
pub async fn mark_email_verified(db: &Database, user_id: i64, email: &str) -> Result<bool, sqlx::Error> {
    let now = now_unix();
    let result = sqlx::query(
        "UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1), updated_at = $1 WHERE id = $2 AND email = $3",
    )
    .bind(now)
    .bind(user_id)
    .bind(email)
    .execute(db.pool())
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Moves the account to a confirmed new address.
pub async fn change_email(db: &Database, user_id: i64, new_email: &str) -> Result<(), AccountError> {
    let now = now_unix();
    let updated = sqlx::query("UPDATE users SET email = $1, email_verified_at = $2, updated_at = $2 WHERE id = $3")
        .bind(new_email)
        .bind(now)
        .bind(user_id)
        .execute(db.pool())
        .await;
    match updated {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(error)) if error.is_unique_violation() => Err(AccountError::EmailTaken),
        Err(error) => Err(error.into()),
    }
}

/// The download sizes a member can prefer.
pub const DOWNLOAD_SIZES: [&str; 3] = ["small", "full", "original"];

/// Saves the profile fields of the account page.
pub async fn update_profile(
    db: &Database,
    user_id: i64,
    display_name: &str,
    bio: &str,
    download_size: &str,
) -> Result<(), AccountError> {
    let display_name = check_display_name(display_name)?;
    let bio = bio.trim();
    if bio.chars().count() > 500 {
        return Err(invalid("bio", "Keep the bio under 500 characters."));
    }
    if !DOWNLOAD_SIZES.contains(&download_size) {
        return Err(invalid("download_size", "Choose small, full or original."));
    }
    sqlx::query("UPDATE users SET display_name = $1, bio = $2, download_size = $3, updated_at = $4 WHERE id = $5")
        .bind(display_name)
        .bind(bio)
        .bind(download_size)
        .bind(now_unix())
        .bind(user_id)
        .execute(db.pool())
        .await?;
    Ok(())
}

pub fn normalise_email(raw: &str) -> Result<String, AccountError> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
        && !email.contains(char::is_whitespace);
    if valid {
        Ok(email)
    } else {
        Err(invalid(
            "email",
            format!("“{}” is not a valid email address.", crate::error::quoted(raw.trim())),
        ))
    }
}

pub fn check_password_strength(password: &str) -> Result<(), AccountError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(invalid(
            "password",
            format!("Use at least {MIN_PASSWORD_CHARS} characters; a few unrelated words work well."),
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(invalid(
            "password",
            format!("Use at most {MAX_PASSWORD_CHARS} characters."),
        ));
    }
    let distinct = password.chars().collect::<std::collections::HashSet<_>>().len();
    if distinct < 5 {
        return Err(invalid(
            "password",
            "This password repeats too few different characters; choose something less predictable.",
        ));
    }
    Ok(())
}

/// Creates an account and returns its id.
pub async fn create_user(db: &Database, user: NewUser<'_>) -> Result<i64, AccountError> {
    let email = normalise_email(user.email)?;
    let display_name = check_display_name(user.display_name)?;
    check_password_strength(user.password)?;
    let hash = hash_password(user.password.to_owned()).await?;
    let now = now_unix();
    let verified_at = user.email_verified.then_some(now);
    let inserted = sqlx::query_scalar::<_, i64>(
        "INSERT INTO users (email, display_name, password_hash, role, email_verified_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(&email)
    .bind(display_name)
    .bind(hash)
    .bind(user.role.as_str())
    .bind(verified_at)
    .bind(now)
    .fetch_one(db.pool())
    .await;
    match inserted {
        Ok(id) => Ok(id),
        Err(sqlx::Error::Database(error)) if error.is_unique_violation() => Err(AccountError::EmailTaken),
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(normalise_email("  Ada@Example.ORG ").unwrap(), "ada@example.org");
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.org",
            "ada@example",
            "a da@example.org",
            "ada@.org",
        ] {
            assert!(normalise_email(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn weak_passwords_are_refused_with_a_reason() {
        assert!(check_password_strength("short")
            .unwrap_err()
            .to_string()
            .contains("at least 12"));
        assert!(matches!(
            check_password_strength("short"),
            Err(AccountError::Invalid { field: "password", .. })
        ));
        assert!(check_password_strength("aaaaaaaaaaaaaaaa").is_err());
        assert!(check_password_strength("correct horse battery").is_ok());
    }

    #[test]
    fn ages_below_the_minimum_are_refused() {
        // 2026-11-22 00:00 UTC.
        let today = 1_795_305_600;
        assert!(check_age("2013-11-22", today, 13).is_ok());
        let refused = check_age("2013-11-23", today, 13).unwrap_err().to_string();
        assert!(refused.contains("at least 13"), "{refused}");
        assert!(check_age("2013-11-22", today, 16).is_err());
        assert!(check_age("2031-01-01", today, 13).is_err());
        assert!(check_age("not a date", today, 13).is_err());
    }

    #[test]
    fn weaker_parameters_need_a_rehash() {
        let weak = "$argon2id$v=19$m=4096,t=1,p=1$c29tZXNhbHQ$iWh06vD8Fy27wf9npn6FXWiCX4K6pW6Ue1Bnzz07Z8A";
        assert!(needs_rehash(weak));
        let bcrypt = "$2b$12$abcdefghijklmnopqrstuu1234567890123456789012345678901";
        assert!(needs_rehash(bcrypt));
    }

    #[tokio::test]
    async fn hashes_are_argon2id_phc_strings_with_recommended_parameters() {
        let hash = hash_password("correct horse battery".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(!needs_rehash(&hash));
    }
}
