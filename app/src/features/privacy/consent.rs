//! The consent state: what the visitor allowed, read from the essential `atelier_consent`
//! cookie and the `Sec-GPC` header. Every non-essential cookie is written through
//! [`allows`], so nothing sets one around the visitor's choice.

use serde::{Deserialize, Serialize};

/// The essential cookie that remembers the choice: `{policy version}.{p}{a}.{consent id}`,
/// where `p` and `a` are `1`/`0` for preferences and analytics.
pub const CONSENT_COOKIE: &str = super::cookies::CONSENT.plain;
/// How long a choice is remembered before the banner asks again (about six months).
pub const CONSENT_MAX_AGE: i64 = 180 * 24 * 3600;

/// Remembers the size last downloaded, for visitors who allowed preference cookies.
pub const DOWNLOAD_SIZE_COOKIE: &str = super::cookies::DOWNLOAD_SIZE.plain;

/// The optional cookie categories. Strictly necessary cookies (`cookies::SITE_COOKIES`)
/// are always on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    /// Remembered choices such as the download size.
    Preferences,
    /// First-party analytics beyond what the service needs to run.
    Analytics,
}

/// What the visitor allowed, as the server and the browser both see it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentState {
    /// A choice is saved for the current policy version.
    pub decided: bool,
    pub preferences: bool,
    pub analytics: bool,
    /// The browser sent `Sec-GPC: 1` (Global Privacy Control).
    pub gpc: bool,
}

impl ConsentState {
    /// The banner asks when nothing is decided, unless Global Privacy Control already
    /// answered: then analytics stays off and nobody is asked.
    pub fn needs_banner(&self) -> bool {
        !self.decided && !self.gpc
    }

    pub fn allows(&self, category: Category) -> bool {
        // Without a saved choice nothing optional is allowed, GPC or not; a saved choice
        // overrides GPC because the visitor made it explicitly.
        self.decided
            && match category {
                Category::Preferences => self.preferences,
                Category::Analytics => self.analytics,
            }
    }
}

/// A saved choice as the cookie carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedChoice {
    pub policy_version: u32,
    pub preferences: bool,
    pub analytics: bool,
    pub consent_id: String,
}

impl SavedChoice {
    pub fn parse(value: &str) -> Option<SavedChoice> {
        let mut parts = value.split('.');
        let policy_version = parts.next()?.parse::<u32>().ok().filter(|v| *v > 0)?;
        let flags = parts.next()?.as_bytes();
        let consent_id = parts.next()?;
        if parts.next().is_some() || flags.len() != 2 || !is_consent_id(consent_id) {
            return None;
        }
        let flag = |byte: u8| match byte {
            b'1' => Some(true),
            b'0' => Some(false),
            _ => None,
        };
        Some(SavedChoice {
            policy_version,
            preferences: flag(flags[0])?,
            analytics: flag(flags[1])?,
            consent_id: consent_id.to_owned(),
        })
    }

    pub fn cookie_value(&self) -> String {
        format!(
            "{}.{}{}.{}",
            self.policy_version,
            u8::from(self.preferences),
            u8::from(self.analytics),
            self.consent_id
        )
    }
}

/// Consent ids are random URL-safe strings; anything else in the cookie is ignored.
pub fn is_consent_id(id: &str) -> bool {
    (8..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The state from the cookie's value (if any), the GPC header and the current policy
/// version. A choice saved under an older policy version counts as no choice.
pub fn decide(cookie: Option<&str>, gpc: bool, policy_version: u32) -> ConsentState {
    match cookie
        .and_then(SavedChoice::parse)
        .filter(|saved| saved.policy_version == policy_version)
    {
        Some(saved) => ConsentState {
            decided: true,
            preferences: saved.preferences,
            analytics: saved.analytics,
            gpc,
        },
        None => ConsentState {
            gpc,
            ..ConsentState::default()
        },
    }
}

#[cfg(feature = "ssr")]
mod on_server {
    use super::*;
    use crate::platform::request;
    use axum::http::request::Parts;

    /// Whether the request carries `Sec-GPC: 1`.
    pub fn sends_gpc(parts: &Parts) -> bool {
        parts
            .headers
            .get("sec-gpc")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.trim() == "1")
    }

    /// The consent state of the request in hand.
    pub fn of_request(parts: &Parts, policy_version: u32) -> ConsentState {
        decide(
            request::cookie(parts, CONSENT_COOKIE).as_deref(),
            sends_gpc(parts),
            policy_version,
        )
    }

    /// The one decision every optional cookie writer asks.
    pub fn allows(parts: &Parts, policy_version: u32, category: Category) -> bool {
        of_request(parts, policy_version).allows(category)
    }
}

#[cfg(feature = "ssr")]
pub use on_server::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_choice_round_trips_through_its_cookie() {
        let saved = SavedChoice {
            policy_version: 3,
            preferences: true,
            analytics: false,
            consent_id: "abcDEF123_-x".into(),
        };
        assert_eq!(saved.cookie_value(), "3.10.abcDEF123_-x");
        assert_eq!(SavedChoice::parse(&saved.cookie_value()), Some(saved));
    }

    #[test]
    fn malformed_cookies_count_as_no_choice() {
        for value in [
            "",
            "1",
            "1.10",
            "0.10.abcdefgh",
            "x.10.abcdefgh",
            "1.12.abcdefgh",
            "1.1.abcdefgh",
            "1.10.short",
            "1.10.has space!",
            "1.10.abcdefgh.extra",
        ] {
            assert_eq!(SavedChoice::parse(value), None, "{value}");
            assert!(decide(Some(value), false, 1).needs_banner(), "{value}");
        }
    }

    #[test]
    fn gpc_without_a_choice_means_no_banner_and_nothing_optional() {
        let state = decide(None, true, 1);
        assert!(!state.needs_banner());
        assert!(!state.allows(Category::Analytics));
        assert!(!state.allows(Category::Preferences));
    }

    #[test]
    fn an_explicit_choice_overrides_gpc() {
        let state = decide(Some("1.11.abcdefgh"), true, 1);
        assert!(state.allows(Category::Analytics) && state.allows(Category::Preferences));
        assert!(state.gpc);
    }

    #[test]
    fn a_new_policy_version_asks_again() {
        let state = decide(Some("1.11.abcdefgh"), false, 2);
        assert!(state.needs_banner());
        assert!(!state.allows(Category::Preferences));
        assert!(!decide(Some("2.11.abcdefgh"), false, 2).needs_banner());
    }
}
