//! Consent records: every cookie decision is stored with its policy version, categories,
//! method, GPC flag, time and at most a truncated address; and the optional cookies that
//! are written only when the visitor's consent allows them.

use super::{
    consent::{self, Category},
    cookies::{self, CookieCategory},
};
use crate::platform::{db::Database, request, state::AppState};
use axum::http::request::Parts;
use std::net::IpAddr;

const PREFERENCE_MAX_AGE: i64 = 365 * 24 * 3600;

/// How the visitor decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    AcceptAll,
    RejectAll,
    Custom,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::AcceptAll => "accept_all",
            Method::RejectAll => "reject_all",
            Method::Custom => "custom",
        }
    }
}

/// One decision, as stored.
#[derive(Clone, Debug)]
pub struct Decision {
    pub consent_id: String,
    pub user_id: Option<i64>,
    pub policy_version: u32,
    pub preferences: bool,
    pub analytics: bool,
    pub method: Method,
    pub gpc: bool,
    pub address: Option<IpAddr>,
    pub decided_at: i64,
}

/// How long a consent record is kept: as long as the consent cookie that carries its choice
/// ([`consent::CONSENT_MAX_AGE`], about six months), so every choice a browser can still
/// present has its record, and no record outlives the consent it proves. The retention job
/// deletes older ones.
pub const RECORD_SECONDS: i64 = consent::CONSENT_MAX_AGE;

/// What [`record`] did with a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// A new record was written; the cookie may last [`consent::CONSENT_MAX_AGE`].
    New,
    /// The browser's last record already says exactly this (a repeat of the same choice):
    /// nothing was written. The cookie may last only `max_age` more seconds, what is left of
    /// that record's life, so a repeated choice never outlives its record.
    Repeat { max_age: i64 },
}

/// Stores a decision unless it repeats the consent id's last record (same member, policy
/// version, categories, method and GPC flag, made less than [`RECORD_SECONDS`] ago): a
/// browser saving the same choice again and again writes one row. A different choice after
/// it is a new row, so the history of changes stays whole.
pub async fn record(db: &Database, decision: &Decision) -> Result<Recorded, sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    if db.backend() == crate::platform::db::Backend::Postgres {
        // Two identical decisions at once would each find no repeat and both be stored; a
        // lock per consent id makes the second wait and then see the first. SQLite needs
        // none: the one statement that checks and inserts holds its write lock throughout.
        // (`SELECT 1 FROM …` because the lock function returns `void`, which the Any driver
        // cannot read.)
        sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtext($1))) AS locked")
            .bind(&decision.consent_id)
            .execute(&mut *tx)
            .await?;
    }
    let inserted = sqlx::query(
        "INSERT INTO consent_records \
         (consent_id, user_id, policy_version, preferences, analytics, method, gpc, ip_prefix, decided_at) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 \
         WHERE NOT EXISTS (SELECT 1 FROM consent_records r \
           WHERE r.id = (SELECT MAX(id) FROM consent_records WHERE consent_id = $1) \
           AND COALESCE(r.user_id, 0) = COALESCE($2, 0) AND r.policy_version = $3 AND r.preferences = $4 \
           AND r.analytics = $5 AND r.method = $6 AND r.gpc = $7 AND r.decided_at > $10)",
    )
    .bind(&decision.consent_id)
    .bind(decision.user_id)
    .bind(i64::from(decision.policy_version))
    .bind(i64::from(decision.preferences))
    .bind(i64::from(decision.analytics))
    .bind(decision.method.as_str())
    .bind(i64::from(decision.gpc))
    .bind(decision.address.map(truncated_address))
    .bind(decision.decided_at)
    .bind(decision.decided_at - RECORD_SECONDS)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        tx.commit().await?;
        return Ok(Recorded::New);
    }
    let repeated: i64 =
        sqlx::query_scalar("SELECT decided_at FROM consent_records WHERE consent_id = $1 ORDER BY id DESC LIMIT 1")
            .bind(&decision.consent_id)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(Recorded::Repeat {
        max_age: (repeated + RECORD_SECONDS - decision.decided_at).max(1),
    })
}

/// A fresh random consent id (128 bits, hex).
pub fn new_consent_id() -> String {
    crate::platform::secrets::random_hex(16)
}

/// The network, not the visitor: IPv4 keeps its first three octets (/24), IPv6 its first
/// three groups (/48), enough to show roughly where a decision came from and no more.
pub fn truncated_address(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return truncated_address(IpAddr::V4(v4));
            }
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

/// Whether this request's consent allows `category`.
pub fn allows(state: &AppState, parts: &Parts, category: Category) -> bool {
    consent::allows(parts, state.config.policy_version, category)
}

/// A preference cookie's value, read only when preference cookies are allowed (a cookie left
/// from before a withdrawal is ignored, not trusted).
pub fn read_preference(state: &AppState, parts: &Parts, name: &str) -> Option<String> {
    allows(state, parts, Category::Preferences)
        .then(|| request::cookie(parts, name))
        .flatten()
}

/// The `Set-Cookie` value for a preference, or `None` when consent does not allow it.
pub fn preference_cookie(state: &AppState, parts: &Parts, name: &str, value: &str) -> Option<String> {
    allows(state, parts, Category::Preferences)
        .then(|| request::set_cookie(name, value, "/", Some(PREFERENCE_MAX_AGE), state.config.secure_cookies))
}

/// `Set-Cookie` values that remove every preference cookie.
pub fn clear_preference_cookies(secure: bool) -> Vec<String> {
    cookies::in_category(CookieCategory::Preferences)
        .map(|cookie| request::set_cookie(cookie.name(secure), "", "/", Some(0), secure))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_cut_to_their_network() {
        assert_eq!(truncated_address("203.0.113.77".parse().unwrap()), "203.0.113.0/24");
        assert_eq!(
            truncated_address("2001:db8:85a3:8d3:1319:8a2e:370:7348".parse().unwrap()),
            "2001:db8:85a3::/48"
        );
        assert_eq!(
            truncated_address("::ffff:198.51.100.9".parse().unwrap()),
            "198.51.100.0/24"
        );
    }

    #[test]
    fn withdrawing_preferences_removes_every_preference_cookie() {
        let removals = clear_preference_cookies(false);
        assert_eq!(
            removals,
            vec!["atelier_size=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0".to_owned()]
        );
    }

    #[test]
    fn consent_ids_are_valid_cookie_ids() {
        let id = new_consent_id();
        assert!(consent::is_consent_id(&id), "{id}");
        assert_ne!(id, new_consent_id());
    }
}
