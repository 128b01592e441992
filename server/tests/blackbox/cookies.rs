//! Cookies and the headers that depend on the site's scheme and the visitor's consent: every
//! cookie a response can set is on the cookie list visitors read (`/cookies` and the privacy
//! policy), over plain HTTP and over HTTPS; HSTS only when the public URL is HTTPS; and the
//! CSP lets the browser reach the analytics host only for visitors who allowed analytics.

use crate::support::{
    fake_oidc::{FakeIdentity, FakeOidc},
    members::{create_member, location, PASSWORD},
    spawn_app, spawn_app_with, TestApp,
};
use app::features::{
    accounts::{
        api::{SignIn, SignOut},
        oidc_views::FinishProviderSignUp,
    },
    library::api::DownloadLink,
    privacy::{
        api::SaveConsent,
        cookies::{self, SITE_COOKIES},
    },
};
use leptos::server_fn::ServerFn;
use std::collections::{BTreeMap, BTreeSet};

/// One browser: the cookies it holds (sent with every request, whatever their `Path`) and
/// the name of every cookie a response set or removed.
#[derive(Default)]
struct Browser {
    jar: BTreeMap<String, String>,
    names_set: BTreeSet<String>,
}

impl Browser {
    fn keep(&mut self, response: &reqwest::Response) {
        for line in response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok())
        {
            let pair = line.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').unwrap_or_else(|| panic!("name=value: {line}"));
            let name = name.trim().to_owned();
            self.names_set.insert(name.clone());
            if line.contains("Max-Age=0") {
                self.jar.remove(&name);
            } else {
                self.jar.insert(name, value.to_owned());
            }
        }
    }

    fn with_cookies(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        if self.jar.is_empty() {
            return request;
        }
        let header = self
            .jar
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        request.header("cookie", header)
    }

    async fn get(&mut self, app: &TestApp, path: &str) -> reqwest::Response {
        let response = self.with_cookies(app.client.get(app.url(path))).send().await.unwrap();
        self.keep(&response);
        response
    }

    async fn post(&mut self, app: &TestApp, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let response = self
            .with_cookies(app.client.post(app.url(path)).form(form))
            .send()
            .await
            .unwrap();
        self.keep(&response);
        response
    }

    /// `/auth/oidc/start`, the fake provider's `/authorize`, and back to our callback.
    async fn sign_on(&mut self, app: &TestApp) -> reqwest::Response {
        let start = self.get(app, "/auth/oidc/start?next=/").await;
        assert_eq!(start.status(), 302, "start redirects to the provider");
        let authorized = app.client.get(location(&start)).send().await.unwrap();
        let back = location(&authorized);
        let at = back.find("/auth/oidc/callback").expect("back to our callback");
        self.get(app, &back[at..]).await
    }
}

/// An app with single sign-on through the fake provider, served over plain HTTP or, with
/// a `public_url`, as that HTTPS origin.
async fn app_at(public_url: Option<&str>, fake: &FakeOidc) -> TestApp {
    spawn_app_with(
        |values| {
            fake.configure(values);
            if let Some(public_url) = public_url {
                values.insert("ATELIER_PUBLIC_URL".into(), public_url.to_owned());
            }
        },
        server::jobs::registry(),
    )
    .await
}

/// Goes through every flow that sets a cookie and returns the names the responses set:
/// cookie choices (with a preference cookie written and withdrawn), password sign-in with
/// and without "keep me signed in", sign-out, and single sign-on for an existing member and
/// for someone new (through the sign-up step).
async fn every_cookie_flow(app: &TestApp, fake: &FakeOidc) -> BTreeSet<String> {
    app.seed(1).await;
    let image: String = sqlx::query_scalar("SELECT public_id FROM images ORDER BY id LIMIT 1")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    create_member(app, "ada@example.org", "Ada Lovelace", true).await;
    let mut browser = Browser::default();
    let image_page = format!("/photos/{image}");
    for page in ["/", "/photos", "/cookies", "/privacy", "/signin", image_page.as_str()] {
        assert_eq!(browser.get(app, page).await.status(), 200, "{page}");
    }

    browser.post(app, SaveConsent::PATH, &[("choice", "accept")]).await;
    let link = browser
        .post(
            app,
            DownloadLink::PATH,
            &[("public_id", image.as_str()), ("size", "small")],
        )
        .await;
    assert_eq!(link.status(), 200);
    assert!(browser.jar.contains_key("atelier_size"), "the size is remembered");
    browser.post(app, SaveConsent::PATH, &[("choice", "reject")]).await;
    assert!(!browser.jar.contains_key("atelier_size"), "and removed on withdrawal");

    let credentials = [("email", "ada@example.org"), ("password", PASSWORD)];
    let signed_in = browser.post(app, SignIn::PATH, &credentials).await;
    assert_eq!(location(&signed_in), "/");
    browser.post(app, SignOut::PATH, &[]).await;
    let remembered = [credentials[0], credentials[1], ("remember", "on")];
    let signed_in = browser.post(app, SignIn::PATH, &remembered).await;
    assert_eq!(location(&signed_in), "/");
    browser.post(app, SignOut::PATH, &[]).await;

    fake.set_identity(FakeIdentity::verified("subject-ada", "ada@example.org", "Ada Lovelace"));
    let linked = browser.sign_on(app).await;
    assert_eq!(location(&linked), "/", "the member is signed in at once");
    browser.post(app, SignOut::PATH, &[]).await;
    fake.set_identity(FakeIdentity::verified(
        "subject-grace",
        "grace@example.org",
        "Grace Hopper",
    ));
    let new_person = browser.sign_on(app).await;
    assert_eq!(location(&new_person), "/signup/provider");
    let finished = browser
        .post(
            app,
            FinishProviderSignUp::PATH,
            &[("display_name", "Grace Hopper"), ("birth_date", "1990-12-10")],
        )
        .await;
    assert_eq!(location(&finished), "/");
    browser.post(app, SignOut::PATH, &[]).await;
    browser.names_set
}

/// Every name is a listed cookie, and both pages visitors read show it.
async fn assert_listed_for_visitors(app: &TestApp, names: &BTreeSet<String>) {
    for page in ["/cookies", "/privacy"] {
        let html = app.get(page).await.text().await.unwrap();
        for name in names {
            assert!(
                cookies::by_name(name).is_some(),
                "{name} is set but not in cookies::SITE_COOKIES"
            );
            assert!(
                cookies::html_lists(&html, name),
                "{name} is set but {page} does not list it"
            );
        }
    }
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|name| (*name).to_owned()).collect()
}

#[tokio::test]
async fn every_cookie_set_over_plain_http_is_on_the_cookie_list() {
    let fake = FakeOidc::start().await;
    let app = app_at(None, &fake).await;
    let set = every_cookie_flow(&app, &fake).await;
    assert_eq!(
        set,
        names(&[
            "atelier_consent",
            "atelier_oidc",
            "atelier_oidc_signup",
            "atelier_session",
            "atelier_size"
        ]),
        "the flows reached every cookie the server writes"
    );
    assert_listed_for_visitors(&app, &set).await;
    app.stop().await;
}

#[tokio::test]
async fn every_cookie_set_over_https_is_on_the_cookie_list() {
    let fake = FakeOidc::start().await;
    let app = app_at(Some("https://atelier.test"), &fake).await;
    let set = every_cookie_flow(&app, &fake).await;
    assert_eq!(
        set,
        names(&[
            "__Host-atelier_oidc_signup",
            "__Host-atelier_session",
            "__Secure-atelier_oidc",
            "atelier_consent",
            "atelier_size",
        ]),
        "the flows reached every cookie the server writes, prefixed where the browser allows"
    );
    assert_listed_for_visitors(&app, &set).await;
    app.stop().await;
}

#[tokio::test]
async fn the_cookie_page_and_the_privacy_policy_list_every_cookie_in_the_table() {
    let app = spawn_app().await;
    for page in ["/cookies", "/privacy"] {
        let html = app.get(page).await.text().await.unwrap();
        assert!(html.contains(r#"data-testid="cookie-list""#), "{page}");
        for cookie in SITE_COOKIES {
            for name in cookie.names() {
                assert!(cookies::html_lists(&html, name), "{page} does not list {name}");
            }
            assert!(html.contains(cookie.category.label()), "{page}: {:?}", cookie.category);
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn strict_transport_security_is_sent_only_when_the_public_url_is_https() {
    let https = spawn_app_with(
        |values| {
            values.insert("ATELIER_PUBLIC_URL".into(), "https://atelier.test".into());
        },
        server::jobs::registry(),
    )
    .await;
    for path in ["/", "/healthz", "/no/such/page"] {
        let response = https.get(path).await;
        assert_eq!(
            response.headers()["strict-transport-security"],
            "max-age=31536000; includeSubDomains",
            "{path}"
        );
    }
    https.stop().await;

    let plain = spawn_app().await;
    for path in ["/", "/healthz"] {
        let response = plain.get(path).await;
        assert!(
            response.headers().get("strict-transport-security").is_none(),
            "{path}: plain HTTP gets no HSTS"
        );
    }
    plain.stop().await;
}

#[tokio::test]
async fn the_csp_names_the_analytics_host_only_for_visitors_who_allowed_analytics() {
    let app = spawn_app_with(
        |values| {
            values.insert("ATELIER_POSTHOG_KEY".into(), "phc_testkey".into());
            values.insert("ATELIER_POSTHOG_HOST".into(), "https://ph.example".into());
        },
        server::jobs::registry(),
    )
    .await;
    // (consent cookie, Sec-GPC, whether analytics is allowed); all at once, so one
    // visitor's consent cannot leak into another's response.
    let visitors: [(Option<&str>, bool, bool); 6] = [
        (None, false, false),
        (None, true, false),
        (Some("atelier_consent=1.00.abcdefgh12"), false, false),
        (Some("atelier_consent=1.10.abcdefgh12"), false, false),
        (Some("atelier_consent=2.01.abcdefgh12"), false, false),
        (Some("atelier_consent=1.01.abcdefgh12"), true, true),
    ];
    let answers = futures::future::join_all(visitors.iter().map(|(cookie, gpc, _)| {
        let mut request = app.client.get(app.url("/"));
        if let Some(cookie) = cookie {
            request = request.header("cookie", *cookie);
        }
        if *gpc {
            request = request.header("sec-gpc", "1");
        }
        request.send()
    }))
    .await;
    for ((cookie, gpc, allowed), answer) in visitors.iter().zip(answers) {
        let csp = answer.unwrap().headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        let connect = csp
            .split(';')
            .map(str::trim)
            .find(|directive| directive.starts_with("connect-src"))
            .unwrap()
            .to_owned();
        if *allowed {
            assert_eq!(connect, "connect-src 'self' https://ph.example", "{cookie:?}");
        } else {
            assert_eq!(connect, "connect-src 'self'", "{cookie:?} gpc={gpc}");
            assert!(!csp.contains("ph.example"), "{csp}");
        }
    }
    app.stop().await;
}
