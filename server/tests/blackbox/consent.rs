//! Cookie consent over HTTP: the banner until a choice is saved, Global Privacy Control, a
//! record for every decision (a repeat folded into the last, limited per address, deleted
//! when its cookie has expired), a new policy version asking again, and the download-size
//! preference cookie written only with preference consent.

use crate::support::{
    members::{cookie_pair, error_of, set_cookie_line},
    spawn_app, spawn_app_with, TestApp,
};
use app::{
    error::AppError,
    features::{
        library::api::DownloadLink,
        privacy::{api::SaveConsent, consent::CONSENT_MAX_AGE, retention, service::RECORD_SECONDS},
    },
    platform::clock::now_unix,
};
use leptos::server_fn::ServerFn;
use sqlx::Row;

const BANNER: &str = r#"data-testid="consent-banner""#;

async fn html(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> String {
    let mut request = app.client.get(app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

async fn decide(app: &TestApp, form: &[(&str, &str)], headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app.client.post(app.url(SaveConsent::PATH)).form(form);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

async fn record_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM consent_records")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_first_visit_shows_the_banner_and_global_privacy_control_answers_it() {
    let app = spawn_app().await;
    assert!(html(&app, "/", &[]).await.contains(BANNER), "a first visit is asked");

    // GPC with no saved choice: no banner, nothing stored, and the cookie page still works.
    let with_gpc = html(&app, "/", &[("sec-gpc", "1")]).await;
    assert!(!with_gpc.contains(BANNER));
    let settings = html(&app, "/cookies", &[("sec-gpc", "1")]).await;
    assert!(
        settings.contains("Global Privacy Control"),
        "the settings page explains the signal"
    );
    assert!(settings.contains("atelier_consent") && settings.contains("atelier_size"));
    assert_eq!(record_count(&app).await, 0, "no consent record without a decision");

    let gpc = app.get("/.well-known/gpc.json").await;
    assert_eq!(gpc.status(), 200);
    assert!(gpc.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let body: serde_json::Value = gpc.json().await.unwrap();
    assert_eq!(body["gpc"], true);
    assert!(body["lastUpdate"].as_str().unwrap().starts_with("20"));
    app.stop().await;
}

#[tokio::test]
async fn every_decision_is_recorded_and_the_banner_stays_away() {
    let app = spawn_app().await;
    let started = app::platform::clock::now_unix();

    let rejected = decide(&app, &[("choice", "reject")], &[]).await;
    assert_eq!(rejected.status(), 200);
    let line = set_cookie_line(&rejected, "atelier_consent").expect("the consent cookie");
    assert!(
        line.contains("HttpOnly") && line.contains("SameSite=Lax") && line.contains("Max-Age=15552000"),
        "{line}"
    );
    let cookie = cookie_pair(&line);
    let (_, value) = cookie.split_once('=').unwrap();
    let consent_id = value
        .strip_prefix("1.00.")
        .expect("version 1, nothing optional")
        .to_owned();
    let state: serde_json::Value = rejected.json().await.unwrap();
    assert_eq!(state["decided"], true);
    assert_eq!(state["analytics"], false);

    assert!(!html(&app, "/", &[("cookie", &cookie)]).await.contains(BANNER));

    // A later, customised decision from the same browser joins the same history.
    let customised = decide(
        &app,
        &[("choice", "custom"), ("preferences", "on")],
        &[("cookie", &cookie), ("sec-gpc", "1")],
    )
    .await;
    let line = set_cookie_line(&customised, "atelier_consent").unwrap();
    assert_eq!(cookie_pair(&line), format!("atelier_consent=1.10.{consent_id}"));

    let rows = sqlx::query(
        "SELECT consent_id, user_id, policy_version, preferences, analytics, method, gpc, ip_prefix, decided_at \
         FROM consent_records ORDER BY id",
    )
    .fetch_all(app.state.db.pool())
    .await
    .unwrap();
    let read = |row: &sqlx::any::AnyRow| {
        (
            row.get::<String, _>("consent_id"),
            row.get::<Option<i64>, _>("user_id"),
            row.get::<i64, _>("policy_version"),
            row.get::<i64, _>("preferences"),
            row.get::<i64, _>("analytics"),
            row.get::<String, _>("method"),
            row.get::<i64, _>("gpc"),
            row.get::<Option<String>, _>("ip_prefix"),
        )
    };
    assert_eq!(
        rows.iter().map(read).collect::<Vec<_>>(),
        vec![
            (
                consent_id.clone(),
                None,
                1,
                0,
                0,
                "reject_all".to_owned(),
                0,
                Some("127.0.0.0/24".to_owned())
            ),
            (
                consent_id.clone(),
                None,
                1,
                1,
                0,
                "custom".to_owned(),
                1,
                Some("127.0.0.0/24".to_owned())
            ),
        ]
    );
    assert!(rows.iter().all(|row| row.get::<i64, _>("decided_at") >= started));

    // An unknown choice is refused clearly and stores nothing.
    let refused = decide(&app, &[("choice", "maybe")], &[]).await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("Accept all, Reject all"));
    assert_eq!(record_count(&app).await, 2);
    app.stop().await;
}

/// A decision that owns what it needs, so several can be sent at once.
fn owned_decision(
    app: &TestApp,
    form: &[(&str, &str)],
    cookie: Option<&str>,
) -> impl std::future::Future<Output = reqwest::Response> + Send + 'static {
    let mut request = app.client.post(app.url(SaveConsent::PATH)).form(form);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie.to_owned());
    }
    async move { request.send().await.unwrap() }
}

fn max_age(set_cookie: &str) -> i64 {
    set_cookie
        .split(';')
        .find_map(|part| part.trim().strip_prefix("Max-Age="))
        .expect("a Max-Age")
        .parse()
        .unwrap()
}

async fn methods(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT method FROM consent_records ORDER BY id")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn consent_decisions_are_rate_limited_per_address() {
    let app = spawn_app().await;
    // Forty new browsers (no consent cookie) on one address, at once: the per-IP burst
    // (30, `AuthRateLimits::consent`) is stored; the rest wait, told so, and store nothing.
    let attempts = (0..40).map(|_| owned_decision(&app, &[("choice", "accept")], None));
    let (mut stored, mut limited) = (0, 0);
    for response in crate::collections::futures_join_all(attempts).await {
        if response.status() == 200 {
            stored += 1;
            continue;
        }
        assert!(response.headers().contains_key("retry-after"));
        assert_eq!(error_of(response).await, AppError::RateLimited);
        limited += 1;
    }
    assert_eq!((stored, limited), (30, 10));
    assert_eq!(record_count(&app).await, 30);
    app.stop().await;
}

#[tokio::test]
async fn repeating_a_choice_stores_nothing_new_even_at_once() {
    let app = spawn_app().await;
    let first = decide(&app, &[("choice", "accept")], &[]).await;
    let cookie = cookie_pair(&set_cookie_line(&first, "atelier_consent").unwrap());
    assert_eq!(record_count(&app).await, 1);

    // The same choice again, five times at once: still one record, and the same cookie.
    let repeats = (0..5).map(|_| owned_decision(&app, &[("choice", "accept")], Some(&cookie)));
    for response in crate::collections::futures_join_all(repeats).await {
        assert_eq!(response.status(), 200);
        let line = set_cookie_line(&response, "atelier_consent").unwrap();
        assert_eq!(cookie_pair(&line), cookie);
    }
    assert_eq!(record_count(&app).await, 1);

    // A repeat does not extend the choice: the cookie keeps its record's expiry.
    sqlx::query("UPDATE consent_records SET decided_at = decided_at - 86400")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let later = decide(&app, &[("choice", "accept")], &[("cookie", &cookie)]).await;
    let line = set_cookie_line(&later, "atelier_consent").unwrap();
    assert!(max_age(&line) <= CONSENT_MAX_AGE - 86_400, "{line}");
    assert_eq!(record_count(&app).await, 1);

    // A change is a new record, and so is changing back: the history stays whole.
    for choice in ["reject", "accept"] {
        let response = decide(&app, &[("choice", choice)], &[("cookie", &cookie)]).await;
        assert_eq!(response.status(), 200);
    }
    assert_eq!(methods(&app).await, ["accept_all", "reject_all", "accept_all"]);

    // The first decisions of one browser, sent at once, are one record too.
    let browser = "atelier_consent=1.00.samebrowser01";
    let firsts = (0..6).map(|_| owned_decision(&app, &[("choice", "custom"), ("preferences", "on")], Some(browser)));
    for response in crate::collections::futures_join_all(firsts).await {
        assert_eq!(response.status(), 200);
    }
    let of_browser: i64 =
        sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM consent_records WHERE consent_id = 'samebrowser01'")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(of_browser, 1);
    app.stop().await;
}

#[tokio::test]
async fn cookie_decisions_are_deleted_once_their_cookie_has_expired() {
    let app = spawn_app().await;
    // Two browsers: one decided just over the cookie's lifetime ago, one a day short of it.
    for choice in ["accept", "reject"] {
        assert_eq!(decide(&app, &[("choice", choice)], &[]).await.status(), 200);
    }
    let now = now_unix();
    for (method, decided_at) in [
        ("accept_all", now - RECORD_SECONDS - 60),
        ("reject_all", now - RECORD_SECONDS + 86_400),
    ] {
        sqlx::query("UPDATE consent_records SET decided_at = $1 WHERE method = $2")
            .bind(decided_at)
            .bind(method)
            .execute(app.state.db.pool())
            .await
            .unwrap();
    }
    let db = &app.state.db;
    assert_eq!(retention::run(db, now, 7).await.unwrap().consent_records_deleted, 1);
    assert_eq!(methods(&app).await, ["reject_all"], "the one still in force stays");
    assert_eq!(
        retention::run(db, now, 7).await.unwrap().consent_records_deleted,
        0,
        "a second run changes nothing"
    );
    assert_eq!(
        retention::run(db, now + 86_400 + 1, 7)
            .await
            .unwrap()
            .consent_records_deleted,
        1
    );
    assert_eq!(record_count(&app).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_new_policy_version_asks_again() {
    let app = spawn_app_with(
        |values| {
            values.insert("ATELIER_PRIVACY_POLICY_VERSION".into(), "2".into());
        },
        server::jobs::registry(),
    )
    .await;
    let old = html(&app, "/", &[("cookie", "atelier_consent=1.11.abcdefgh12")]).await;
    assert!(
        old.contains(BANNER),
        "a choice under version 1 does not answer version 2"
    );
    let current = html(&app, "/", &[("cookie", "atelier_consent=2.11.abcdefgh12")]).await;
    assert!(!current.contains(BANNER));
    let saved = decide(&app, &[("choice", "accept")], &[]).await;
    assert!(cookie_pair(&set_cookie_line(&saved, "atelier_consent").unwrap()).starts_with("atelier_consent=2.11."));
    app.stop().await;
}

/// Whether the image page preselects `size` in its download menu.
fn preselected(page: &str, size: &str) -> bool {
    let marker = format!(r#"id="size-{size}""#);
    let start = page.find(&marker).unwrap_or_else(|| panic!("{marker} in the page"));
    let tag = &page[start..start + page[start..].find('>').unwrap()];
    tag.contains(" checked")
}

#[tokio::test]
async fn the_download_size_is_remembered_only_with_preference_consent() {
    let app = spawn_app().await;
    app.seed(1).await;
    let id: String = sqlx::query_scalar("SELECT public_id FROM images ORDER BY id LIMIT 1")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    let link = |cookie: Option<&'static str>| {
        let mut request = app
            .client
            .post(app.url(DownloadLink::PATH))
            .form(&[("public_id", id.as_str()), ("size", "small")]);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send()
    };
    for cookie in [
        None,
        Some("atelier_consent=1.00.abcdefgh12"),
        Some("atelier_consent=1.01.abcdefgh12"),
    ] {
        let response = link(cookie).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(set_cookie_line(&response, "atelier_size"), None, "{cookie:?}");
    }
    let allowed = link(Some("atelier_consent=1.10.abcdefgh12")).await.unwrap();
    let line = set_cookie_line(&allowed, "atelier_size").expect("remembered with preference consent");
    assert_eq!(cookie_pair(&line), "atelier_size=small");

    let page_with = |cookie: &'static str| {
        let path = format!("/photos/{id}");
        let app = &app;
        async move { html(app, &path, &[("cookie", cookie)]).await }
    };
    assert!(preselected(
        &page_with("atelier_consent=1.10.abcdefgh12; atelier_size=small").await,
        "small"
    ));
    // A size cookie left from before a withdrawal is not trusted.
    assert!(!preselected(
        &page_with("atelier_consent=1.00.abcdefgh12; atelier_size=small").await,
        "small"
    ));

    // Withdrawing preference consent removes the cookie.
    let withdrawn = decide(
        &app,
        &[("choice", "reject")],
        &[("cookie", "atelier_consent=1.10.abcdefgh12; atelier_size=small")],
    )
    .await;
    let removal = set_cookie_line(&withdrawn, "atelier_size").expect("the size cookie is removed");
    assert!(removal.contains("Max-Age=0"), "{removal}");
    app.stop().await;
}

#[tokio::test]
async fn the_privacy_policy_lists_every_inventoried_category_and_the_configured_facts() {
    use app::features::privacy::inventory::CATEGORIES;
    let app = spawn_app_with(
        |values| {
            values.insert("ATELIER_PRIVACY_POLICY_VERSION".into(), "3".into());
            values.insert("ATELIER_PRIVACY_CONTACT".into(), "privacy@atelier.example".into());
            values.insert("ATELIER_MIN_AGE".into(), "16".into());
        },
        server::jobs::registry(),
    )
    .await;
    let policy = html(&app, "/privacy", &[]).await;
    assert!(
        policy.contains("<title>Privacy policy — Atelier</title>"),
        "{policy:.600}"
    );
    assert!(
        policy.contains("Version 3 · last updated"),
        "the configured version is shown"
    );
    assert!(policy.contains("mailto:privacy@atelier.example"));
    assert!(policy.contains("aged 16 or older"));
    let cards = &policy[policy
        .find(r#"data-testid="policy-categories""#)
        .expect("the category list")..];
    for category in CATEGORIES {
        assert!(
            cards.contains(&format!(">{}</h3>", category.name)),
            "the policy lists {}",
            category.name
        );
    }
    assert!(cards.contains("foreign-key cascade"), "what deletion does is shown");

    let terms = html(&app, "/terms", &[]).await;
    assert!(terms.contains("<title>Terms of use — Atelier</title>"));
    for page in [&policy, &terms] {
        assert!(
            page.contains(r#"href="/privacy""#) && page.contains(r#"href="/terms""#),
            "the footer links both"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn posthog_is_in_the_page_only_when_configured_and_allowed() {
    let analytics_allowed = "atelier_consent=1.01.analyticsok";
    let rejected = "atelier_consent=1.00.analyticsno";

    // Not configured: nothing, whatever the choice; the CSP sends requests home only.
    let plain = spawn_app().await;
    let page = plain
        .client
        .get(plain.url("/"))
        .header("cookie", analytics_allowed)
        .send()
        .await
        .unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("connect-src 'self';"), "{csp}");
    let body = page.text().await.unwrap();
    assert!(!body.contains("/analytics.js") && !body.contains("posthog"));
    plain.stop().await;

    let app = spawn_app_with(
        |values| {
            values.insert("ATELIER_POSTHOG_KEY".into(), "phc_testkey".into());
            values.insert("ATELIER_POSTHOG_HOST".into(), "https://ph.example".into());
        },
        server::jobs::registry(),
    )
    .await;
    let loader = r#"<script src="/analytics.js""#;
    for (cookie, gpc, what) in [
        (None, None, "a first visit"),
        (Some(rejected), None, "a rejection"),
        (None, Some("1"), "Global Privacy Control"),
    ] {
        let mut headers = Vec::new();
        if let Some(cookie) = cookie {
            headers.push(("cookie", cookie));
        }
        if let Some(gpc) = gpc {
            headers.push(("sec-gpc", gpc));
        }
        let body = html(&app, "/", &headers).await;
        assert!(!body.contains(loader), "{what}: no analytics script");
        assert!(!body.contains("/vendor/posthog.js"), "{what}: nor PostHog's");
    }
    let allowed = app
        .client
        .get(app.url("/"))
        .header("cookie", analytics_allowed)
        .send()
        .await
        .unwrap();
    let csp = allowed.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("connect-src 'self' https://ph.example;"), "{csp}");
    let body = allowed.text().await.unwrap();
    assert!(body.contains(loader), "the loader once analytics is allowed");
    assert!(body.contains(r#"data-key="phc_testkey""#) && body.contains(r#"data-host="https://ph.example""#));
    let policy = html(&app, "/privacy", &[]).await;
    assert!(policy.contains(r#"data-testid="policy-analytics""#) && policy.contains("https://ph.example"));
    app.stop().await;
}
