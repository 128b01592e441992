//! First-party usage events: page views from full loads and from the browser's beacon,
//! searches with the member only while their activity history is on, and never the words.

use crate::support::{
    members::{create_member, post_form, signed_in},
    spawn_app, TestApp,
};
use app::{
    features::{
        library::api::SearchImages,
        privacy::{settings, settings_api::PrivacySettings},
    },
    platform::clock::now_unix,
    ui::page_view_beacon::PAGE_VIEW_BEACON,
};
use leptos::server_fn::ServerFn;
use sqlx::Row;
use std::time::Duration;

type Event = (String, String, Option<i64>);

async fn events(app: &TestApp) -> Vec<Event> {
    sqlx::query("SELECT kind, subject, user_id FROM usage_events ORDER BY id")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect()
}

/// The events once `count` have been written (the writer works off the request path).
async fn events_after(app: &TestApp, count: usize) -> Vec<Event> {
    for _ in 0..100 {
        let found = events(app).await;
        if found.len() >= count {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("expected {count} usage events, found {:?}", events(app).await);
}

fn page_view(pattern: &str) -> Event {
    ("page_view".into(), pattern.into(), None)
}

async fn beacon(app: &TestApp, body: &str, site: &str) -> reqwest::Response {
    app.client
        .post(app.url(PAGE_VIEW_BEACON))
        .header("content-type", "text/plain;charset=UTF-8")
        .header("sec-fetch-site", site)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn full_page_loads_count_as_views_of_their_route_and_nothing_else_does() {
    let app = spawn_app().await;
    app.seed(1).await;
    let image: String = sqlx::query_scalar("SELECT public_id FROM images")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(app.get("/photos").await.status(), 200);
    assert_eq!(app.get(&format!("/photos/{image}")).await.status(), 200);
    // Not pages, or not found: none of these is a page view.
    assert_eq!(app.get("/photos/nosuchimage").await.status(), 404);
    assert_eq!(app.get("/no/such/page").await.status(), 404);
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/.well-known/gpc.json").await.status(), 200);
    assert_eq!(
        post_form(&app, SearchImages::PATH, None, &[("filters[page]", "2")])
            .await
            .status(),
        200
    );
    // The marker: a page viewed last, so everything before it has been written too.
    assert_eq!(app.get("/pricing").await.status(), 200);
    assert_eq!(
        events_after(&app, 3).await,
        vec![page_view("/photos"), page_view("/photos/{id}"), page_view("/pricing")],
        "one view per page, by route pattern, naming nobody"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_beacon_counts_client_side_navigation_by_route_and_refuses_anything_else() {
    let app = spawn_app().await;
    assert_eq!(
        beacon(&app, "/contributors/ada-quill", "same-origin").await.status(),
        204
    );
    assert_eq!(beacon(&app, "/collections", "same-origin").await.status(), 204);
    for (body, why) in [
        ("/wp-login.php", "no page"),
        ("photos", "not a path"),
        ("", "empty"),
        (&format!("/{}", "a".repeat(600)), "too long"),
    ] {
        let response = beacon(&app, body, "same-origin").await;
        assert_eq!(response.status(), 400, "{why}");
        assert!(
            !response.text().await.unwrap().is_empty(),
            "{why}: the refusal says why"
        );
    }
    assert_eq!(
        beacon(&app, "/photos", "cross-site").await.status(),
        403,
        "another site cannot count views"
    );
    assert_eq!(
        events_after(&app, 2).await,
        vec![page_view("/contributors/{slug}"), page_view("/collections")]
    );

    // A burst of 60 from one address, then one a second: a person clicking around is never
    // limited, a script soon is.
    let mut counted = 0;
    let mut limited = None;
    for _ in 0..300 {
        let response = beacon(&app, "/photos", "same-origin").await;
        match response.status().as_u16() {
            204 => counted += 1,
            429 => {
                limited = Some(response);
                break;
            }
            other => panic!("unexpected {other}"),
        }
    }
    // Two of the burst went to the views above.
    assert!(counted >= 58, "the burst is allowed: {counted}");
    let limited = limited.expect("a flood is limited");
    assert!(!limited.text().await.unwrap().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn searches_count_their_outcome_never_the_words_and_the_member_only_while_allowed() {
    let app = spawn_app().await;
    app.seed(2).await;
    let ada = create_member(&app, "ada@example.org", "Ada", true).await;
    let bo = create_member(&app, "bo@example.org", "Bo", true).await;
    let ada_cookie = signed_in(&app, "ada@example.org").await;
    let bo_cookie = signed_in(&app, "bo@example.org").await;
    let quiet = PrivacySettings {
        analytics: false,
        ..PrivacySettings::default()
    };
    settings::save(&app.state.db, bo, quiet, "full", now_unix())
        .await
        .unwrap();

    let search = |cookie: Option<String>, words: &'static str, page: &'static str| {
        let app = &app;
        async move {
            let response = post_form(
                app,
                SearchImages::PATH,
                cookie.as_deref(),
                &[("filters[q]", words), ("filters[page]", page)],
            )
            .await;
            assert_eq!(response.status(), 200);
        }
    };
    search(Some(ada_cookie.clone()), "", "1").await;
    search(Some(ada_cookie.clone()), "zyzzyvaquux", "1").await;
    search(Some(ada_cookie), "", "2").await; // the next page of the same search
    search(Some(bo_cookie), "", "1").await;
    search(None, "", "1").await;
    let found = events_after(&app, 4).await;
    assert_eq!(
        found,
        vec![
            ("search".into(), "found".into(), Some(ada)),
            ("search".into(), "empty".into(), Some(ada)),
            ("search".into(), "found".into(), None),
            ("search".into(), "found".into(), None),
        ],
        "Ada's searches name her; Bo switched his activity history off; paging is no new search"
    );
    let stored: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM usage_events WHERE kind LIKE '%zyzzyva%' OR subject LIKE '%zyzzyva%'",
    )
    .fetch_one(app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(stored, 0, "the words searched are not stored");
    app.stop().await;
}
