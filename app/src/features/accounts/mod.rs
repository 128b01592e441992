//! Accounts: members, their roles and credentials, sessions, the mails that verify and
//! recover them, and the pages where members manage all of it.

use serde::{Deserialize, Serialize};

pub mod api;
pub mod auth_views;
pub mod avatar_view;
#[cfg(feature = "ssr")]
pub mod guard;
#[cfg(feature = "ssr")]
pub mod oidc;
pub mod oidc_views;
pub mod recovery_api;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod session;
pub mod settings_api;
pub mod settings_views;
#[cfg(feature = "ssr")]
pub mod tokens;
pub mod views;

/// What a member may do beyond their own content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Member,
    Moderator,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
        }
    }

    /// Whether this role may do what `required` may: admin ⊃ moderator ⊃ member.
    pub fn includes(self, required: Role) -> bool {
        let rank = |role: Role| match role {
            Role::Member => 0,
            Role::Moderator => 1,
            Role::Admin => 2,
        };
        rank(self) >= rank(required)
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "member" => Role::Member,
            "moderator" => Role::Moderator,
            "admin" => Role::Admin,
            _ => return None,
        })
    }
}

/// Who is signed in, as the header and account pages show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberSummary {
    pub display_name: String,
    pub email: String,
    pub role: Role,
    pub email_verified: bool,
}

/// The member's own account, as the account page shows and edits it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountDetails {
    pub email: String,
    pub display_name: String,
    pub bio: String,
    pub download_size: String,
    pub email_verified: bool,
    /// A new address waiting for its confirmation link to be used.
    pub pending_email: Option<String>,
    pub role: Role,
    /// `/media/…` URL of the member's avatar; `None` shows their initials.
    pub avatar_url: Option<String>,
}

/// One of the member's sessions, as listed on /account/sessions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Public handle used to end this session; not the secret token.
    pub handle: String,
    pub device: String,
    pub country: Option<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub remembered: bool,
    /// The session making this request.
    pub current: bool,
}

/// “Firefox on Linux”, from a user agent — enough to recognise one's own devices.
pub fn describe_device(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.filter(|ua| !ua.trim().is_empty()) else {
        return "Unknown device".to_owned();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| *name)
    .unwrap_or("A browser");
    let system = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| *name);
    match system {
        Some(system) => format!("{browser} on {system}"),
        None => browser.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{describe_device, Role};

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Admin.includes(Role::Moderator));
        assert!(Role::Moderator.includes(Role::Member));
        assert!(!Role::Member.includes(Role::Moderator));
        assert!(!Role::Moderator.includes(Role::Admin));
    }

    #[test]
    fn devices_are_described_in_plain_words() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(describe_device(Some(firefox)), "Firefox on Linux");
        let chrome_mac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
        assert_eq!(describe_device(Some(chrome_mac)), "Chrome on macOS");
        assert_eq!(describe_device(None), "Unknown device");
    }
}
