//! The one list of cookies the site can set — names in each form, category, purpose and
//! lifetime — which the code that writes cookies takes its names from, and its rendering
//! for visitors on `/cookies` and in the privacy policy.

use leptos::prelude::*;

/// Why a cookie may be set: strictly necessary ones need no consent; the others only with
/// the visitor's consent to their category.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CookieCategory {
    StrictlyNecessary,
    Preferences,
    Analytics,
}

impl CookieCategory {
    pub const fn label(self) -> &'static str {
        match self {
            CookieCategory::StrictlyNecessary => "Strictly necessary",
            CookieCategory::Preferences => "Preferences",
            CookieCategory::Analytics => "Analytics",
        }
    }
}

/// One cookie. Over HTTPS a `__Host-` or `__Secure-` prefix makes the browser enforce
/// `Secure` (and, for `__Host-`, this host and `Path=/`); plain-HTTP local development cannot
/// use the prefix, so the name differs there. Cookies without a prefix have one name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SiteCookie {
    /// The name over plain HTTP (`ATELIER_SECURE_COOKIES=false`).
    pub plain: &'static str,
    /// The name over HTTPS.
    pub secure: &'static str,
    pub category: CookieCategory,
    pub purpose: &'static str,
    pub lifetime: &'static str,
}

impl SiteCookie {
    /// The name this site uses, given `Config::secure_cookies`.
    pub const fn name(&self, secure: bool) -> &'static str {
        if secure {
            self.secure
        } else {
            self.plain
        }
    }

    /// Its names: the HTTPS one first, then the plain-HTTP one when it differs.
    pub fn names(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.secure).chain((self.plain != self.secure).then_some(self.plain))
    }
}

pub const SESSION: SiteCookie = SiteCookie {
    plain: "atelier_session",
    secure: "__Host-atelier_session",
    category: CookieCategory::StrictlyNecessary,
    purpose: "Keeps you signed in, with a password or through single sign-on. Set only when you sign in; removed when you sign out.",
    lifetime: "Until you close the browser (at most a day), or 30 days with “Keep me signed in”.",
};

pub const CONSENT: SiteCookie = SiteCookie {
    plain: "atelier_consent",
    secure: "atelier_consent",
    category: CookieCategory::StrictlyNecessary,
    purpose: "Remembers your cookie choice and the policy version it was made under. Set only when you choose.",
    lifetime: "Six months.",
};

/// `__Secure-` rather than `__Host-`: it is sent only to the single sign-on routes, and
/// `__Host-` requires `Path=/`.
pub const OIDC_BINDING: SiteCookie = SiteCookie {
    plain: "atelier_oidc",
    secure: "__Secure-atelier_oidc",
    category: CookieCategory::StrictlyNecessary,
    purpose: "Ties a single sign-on you started to this browser, so nobody else can finish it. Set only when you continue with a sign-on provider, and sent only back to our sign-on pages.",
    lifetime: "10 minutes; removed when you come back from the provider.",
};

pub const OIDC_SIGN_UP: SiteCookie = SiteCookie {
    plain: "atelier_oidc_signup",
    secure: "__Host-atelier_oidc_signup",
    category: CookieCategory::StrictlyNecessary,
    purpose: "Keeps your place while you finish creating an account after your sign-on provider confirmed your email.",
    lifetime: "10 minutes; removed when you finish or stop.",
};

pub const DOWNLOAD_SIZE: SiteCookie = SiteCookie {
    plain: "atelier_size",
    secure: "atelier_size",
    category: CookieCategory::Preferences,
    purpose: "The download size you picked last. Only when you allow preference cookies; removed when you withdraw.",
    lifetime: "A year.",
};

/// Written by PostHog's script in the browser, not by the server; the middle of the name
/// is the configured project key.
pub const POSTHOG: SiteCookie = SiteCookie {
    plain: "ph_<project key>_posthog",
    secure: "ph_<project key>_posthog",
    category: CookieCategory::Analytics,
    purpose: "PostHog's random anonymous id and visit, also kept in local storage. Only when this site uses PostHog and you allow analytics; removed at once when you withdraw.",
    lifetime: "A year, or until you withdraw.",
};

/// Every cookie the site (or, for analytics, the script it loads after consent) can set.
/// A black-box test fails when a response sets a cookie that is not here.
pub const SITE_COOKIES: &[SiteCookie] = &[SESSION, CONSENT, OIDC_BINDING, OIDC_SIGN_UP, DOWNLOAD_SIZE, POSTHOG];

/// The listed cookie with this name, in either form.
pub fn by_name(name: &str) -> Option<&'static SiteCookie> {
    SITE_COOKIES
        .iter()
        .find(|cookie| cookie.plain == name || cookie.secure == name)
}

/// The cookies a visitor's consent to `category` covers.
pub fn in_category(category: CookieCategory) -> impl Iterator<Item = &'static SiteCookie> {
    SITE_COOKIES.iter().filter(move |cookie| cookie.category == category)
}

/// Every cookie in [`SITE_COOKIES`], one row each, each name in a `data-cookie` attribute.
#[component]
pub fn CookieList() -> impl IntoView {
    view! {
        <div class="mt-4 overflow-x-auto">
            <table class="w-full text-left text-sm" data-testid="cookie-list">
                <thead class="text-muted">
                    <tr>
                        <th class="py-2 pr-4 font-medium">"Name"</th>
                        <th class="py-2 pr-4 font-medium">"Category"</th>
                        <th class="py-2 pr-4 font-medium">"Purpose"</th>
                        <th class="py-2 font-medium">"Kept"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-line">
                    {SITE_COOKIES.iter().map(|cookie| view! { <CookieRow cookie={*cookie} /> }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn CookieRow(cookie: SiteCookie) -> impl IntoView {
    let plain_http = (cookie.plain != cookie.secure).then(|| {
        view! {
            <span class="mt-1 block text-xs text-muted">
                <code class="font-mono" data-cookie={cookie.plain}>{cookie.plain}</code>
                " over plain HTTP (local development)"
            </span>
        }
    });
    view! {
        <tr>
            <td class="py-2 pr-4 align-top text-ink">
                <code class="font-mono" data-cookie={cookie.secure}>{cookie.secure}</code>
                {plain_http}
            </td>
            <td class="py-2 pr-4 align-top text-muted">{cookie.category.label()}</td>
            <td class="py-2 pr-4 align-top text-muted">{cookie.purpose}</td>
            <td class="py-2 align-top text-muted">{cookie.lifetime}</td>
        </tr>
    }
}

/// Whether rendered HTML lists the cookie called `name` (in a `data-cookie` attribute,
/// whichever of `<` and `>` the renderer escaped there).
pub fn html_lists(html: &str, name: &str) -> bool {
    let less_than = name.replace('<', "&lt;");
    let both = less_than.replace('>', "&gt;");
    [name, less_than.as_str(), both.as_str()]
        .iter()
        .any(|form| html.contains(&format!("data-cookie=\"{form}\"")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_prefixed_only_where_the_browser_allows() {
        let mut seen = std::collections::HashSet::new();
        for cookie in SITE_COOKIES {
            for name in cookie.names() {
                assert!(seen.insert(name), "{name} is listed twice");
            }
            assert!(
                !cookie.plain.starts_with("__"),
                "{}: no prefix over plain HTTP",
                cookie.plain
            );
            assert!(!cookie.purpose.is_empty() && !cookie.lifetime.is_empty());
        }
        assert_eq!(by_name("__Host-atelier_session"), Some(&SESSION));
        assert_eq!(by_name("atelier_session"), Some(&SESSION));
        assert_eq!(by_name("atelier_tracker"), None);
        assert_eq!(SESSION.name(true), "__Host-atelier_session");
        assert_eq!(OIDC_BINDING.name(false), "atelier_oidc");
    }

    #[test]
    fn every_listed_cookie_appears_in_the_rendered_list() {
        let html = view! { <CookieList/> }.to_html();
        for cookie in SITE_COOKIES {
            for name in cookie.names() {
                assert!(html_lists(&html, name), "{name} is missing from the list: {html}");
            }
            assert!(html.contains(cookie.category.label()), "{}", cookie.category.label());
        }
        assert!(!html_lists(&html, "atelier_tracker"));
    }
}
