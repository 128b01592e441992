//! Consent records: every cookie decision is stored with its policy version, categories,
//! method, GPC flag, time and at most a truncated address; and the optional cookies that
//! are written only when the visitor's consent allows them.

use super::consent::{self, Category, PREFERENCE_COOKIES};
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

pub async fn record(db: &Database, decision: &Decision) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO consent_records \
         (consent_id, user_id, policy_version, preferences, analytics, method, gpc, ip_prefix, decided_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
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
    .execute(db.pool())
    .await?;
    Ok(())
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
    PREFERENCE_COOKIES
        .iter()
        .map(|(name, _)| request::set_cookie(name, "", "/", Some(0), secure))
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
    fn the_cookie_list_names_the_real_session_cookie() {
        use crate::features::accounts::session::PLAIN_COOKIE;
        assert!(consent::ESSENTIAL_COOKIES.iter().any(|(name, _)| *name == PLAIN_COOKIE));
    }

    #[test]
    fn consent_ids_are_valid_cookie_ids() {
        let id = new_consent_id();
        assert!(consent::is_consent_id(&id), "{id}");
        assert_ne!(id, new_consent_id());
    }
}
