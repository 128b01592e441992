//! Server-side sessions. The cookie holds a random 256-bit token; the database keeps only its
//! SHA-256, so neither a database copy nor a log line can be replayed as a session.

use super::Role;
use crate::platform::{clock::now_unix, config::Config, db::Database, request};
use axum::http::request::Parts;
use sqlx::Row;
use std::fmt;

/// Cookie name when served over HTTPS: `__Host-` pins it to this host, `/` and `Secure`.
/// Both names come from the site's one cookie list (`privacy::cookies`).
pub const SECURE_COOKIE: &str = crate::features::privacy::cookies::SESSION.secure;
/// Cookie name for plain-HTTP local development (`ATELIER_SECURE_COOKIES=false`).
pub const PLAIN_COOKIE: &str = crate::features::privacy::cookies::SESSION.plain;
/// A "remember me" session lasts 30 days; any other ends with the browser or after a day.
pub const REMEMBER_SECONDS: i64 = 30 * 24 * 3600;
pub const BROWSER_SESSION_SECONDS: i64 = 24 * 3600;
/// `last_seen_at` is refreshed at most this often, to spare the database a write per request.
const TOUCH_AFTER_SECONDS: i64 = 60;

/// The secret in the cookie. Never printed: `Debug` and `Display` redact it.
pub struct SessionToken(String);

impl SessionToken {
    fn generate() -> Self {
        SessionToken(crate::platform::secrets::random_hex(32))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(…)")
    }
}

pub fn hash_token(token: &str) -> String {
    crate::platform::secrets::sha256_hex(token)
}

/// Where a session was started from, as stored for the member's session list.
#[derive(Clone, Debug, Default)]
pub struct SessionOrigin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub country: Option<String>,
}

/// The member behind a valid session.
#[derive(Clone, Debug)]
pub struct CurrentMember {
    pub user_id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub email_verified: bool,
    pub session_handle: String,
    /// Whether this session was started with "keep me signed in".
    pub remember: bool,
}

fn random_handle() -> String {
    crate::platform::secrets::random_hex(9)
}

/// Starts a session and returns the cookie token and its expiry.
pub async fn start(
    db: &Database,
    user_id: i64,
    remember: bool,
    origin: SessionOrigin,
) -> Result<(SessionToken, i64), sqlx::Error> {
    let token = SessionToken::generate();
    let now = now_unix();
    let expires_at = now
        + if remember {
            REMEMBER_SECONDS
        } else {
            BROWSER_SESSION_SECONDS
        };
    sqlx::query(
        "INSERT INTO sessions (token_hash, handle, user_id, remember, ip, user_agent, country, created_at, last_seen_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
    )
    .bind(hash_token(token.expose()))
    .bind(random_handle())
    .bind(user_id)
    .bind(i64::from(remember))
    .bind(origin.ip)
    .bind(origin.user_agent)
    .bind(origin.country)
    .bind(now)
    .bind(expires_at)
    .execute(db.pool())
    .await?;
    Ok((token, expires_at))
}

/// The member for a cookie token, if the session exists and has not expired.
pub async fn resolve(db: &Database, token: &str) -> Result<Option<CurrentMember>, sqlx::Error> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let now = now_unix();
    let token_hash = hash_token(token);
    let row = sqlx::query(
        "SELECT s.handle, s.remember, s.last_seen_at, u.id, u.email, u.display_name, u.role, u.email_verified_at \
         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2",
    )
    .bind(&token_hash)
    .bind(now)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let last_seen: i64 = row.try_get("last_seen_at")?;
    if now - last_seen >= TOUCH_AFTER_SECONDS {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(&token_hash)
            .execute(db.pool())
            .await?;
    }
    let role: String = row.try_get("role")?;
    Ok(Some(CurrentMember {
        user_id: row.try_get("id")?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        role: Role::parse(&role).unwrap_or(Role::Member),
        email_verified: row.try_get::<Option<i64>, _>("email_verified_at")?.is_some(),
        session_handle: row.try_get("handle")?,
        remember: row.try_get::<i64, _>("remember")? == 1,
    }))
}

/// The member behind a request's session cookie, for plain HTTP routes (server functions
/// ask `guard::current_member`, which reads the same cookie).
pub async fn of_request(db: &Database, config: &Config, parts: &Parts) -> Result<Option<CurrentMember>, sqlx::Error> {
    match request::cookie(parts, cookie_name(config)) {
        Some(token) => resolve(db, &token).await,
        None => Ok(None),
    }
}

/// Ends the session behind a cookie token (sign-out, or rotation at sign-in).
pub async fn end_by_token(db: &Database, token: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(hash_token(token))
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Ends one of the member's own sessions by its public handle. Returns whether it existed.
pub async fn end_by_handle(db: &Database, user_id: i64, handle: &str) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND handle = $2")
        .bind(user_id)
        .bind(handle)
        .execute(db.pool())
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Ends every session of a member ("sign out everywhere", password change).
pub async fn end_all(db: &Database, user_id: i64) -> Result<u64, sqlx::Error> {
    let result = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(db.pool())
        .await?;
    Ok(result.rows_affected())
}

/// The member's live sessions, most recently used first.
pub async fn list(db: &Database, user_id: i64) -> Result<Vec<super::SessionInfo>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT handle, user_agent, country, created_at, last_seen_at, remember FROM sessions \
         WHERE user_id = $1 AND expires_at > $2 ORDER BY last_seen_at DESC, created_at DESC",
    )
    .bind(user_id)
    .bind(now_unix())
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(super::SessionInfo {
                handle: row.try_get("handle")?,
                device: super::describe_device(row.try_get::<Option<String>, _>("user_agent")?.as_deref()),
                country: row.try_get("country")?,
                created_at: row.try_get("created_at")?,
                last_seen_at: row.try_get("last_seen_at")?,
                remembered: row.try_get::<i64, _>("remember")? == 1,
                current: false,
            })
        })
        .collect()
}

/// Removes expired sessions (run periodically).
pub async fn purge_expired(db: &Database) -> Result<u64, sqlx::Error> {
    let result = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now_unix())
        .execute(db.pool())
        .await?;
    Ok(result.rows_affected())
}

pub fn cookie_name(config: &Config) -> &'static str {
    if config.secure_cookies {
        SECURE_COOKIE
    } else {
        PLAIN_COOKIE
    }
}

/// `Set-Cookie` for a new session: HttpOnly, SameSite=Lax, Path=/, no Domain; `Secure` and
/// the `__Host-` prefix over HTTPS; a Max-Age only when the member asked to be remembered.
pub fn set_cookie(config: &Config, token: &SessionToken, remember: bool) -> String {
    let max_age = remember.then_some(REMEMBER_SECONDS);
    request::set_cookie(cookie_name(config), token.expose(), "/", max_age, config.secure_cookies)
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(config: &Config) -> String {
    request::set_cookie(cookie_name(config), "", "/", Some(0), config.secure_cookies)
}

/// Signs `user_id` in on the browser that sent `parts`: ends the session that browser
/// presented (so the id always changes at sign-in), starts a new one and returns its
/// `Set-Cookie`. Shared by server functions and plain routes (provider sign-in).
pub async fn begin(
    db: &Database,
    config: &Config,
    parts: &Parts,
    user_id: i64,
    remember: bool,
) -> Result<String, sqlx::Error> {
    if let Some(previous) = request::cookie(parts, cookie_name(config)) {
        end_by_token(db, &previous).await?;
    }
    let origin = SessionOrigin {
        ip: request::client_ip(parts).map(|ip| ip.to_string()),
        user_agent: request::user_agent(parts),
        country: request::client_country(parts),
    };
    let (token, _) = start(db, user_id, remember, origin).await?;
    Ok(set_cookie(config, &token, remember))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex_and_never_printed() {
        let a = SessionToken::generate();
        let b = SessionToken::generate();
        assert_eq!(a.expose().len(), 64);
        assert_ne!(a.expose(), b.expose());
        assert_eq!(format!("{a:?}"), "SessionToken(…)");
        assert_ne!(hash_token(a.expose()), a.expose());
    }
}
